import { z } from 'zod';
import { defaultSummaryPageRecords } from '../../lib/materialize/refresh-ingest-records-summary.ts';

const configSchema = z.object({
  TABLE_NAME: z.string().min(3),
  ATHENA_WORKGROUP: z.string().min(1),
  ATHENA_DATABASE: z.string().min(1),
  OFFLINE_BUCKET: z.string().min(3),
  ALLOWED_LATENESS_SECONDS: z.coerce.number().int().min(0).default(3600),
  /** Shards of a new sharded run (stage config materialization.sharding.shards). */
  SHARDS: z.coerce.number().int().min(2).max(64),
  /** Runs estimated under this many rows go to the single materializer Lambda. */
  MIN_ROWS: z.coerce.number().int().min(0),
  /**
   * The records step stops after a page of records when less than this is left of its
   * invocation (the state machine invokes it again): a page and a summary write must fit.
   */
  SAFETY_MARGIN_MS: z.coerce.number().int().positive().default(40_000),
  /** Commit records the records step reads between two writes of the summary. */
  SUMMARY_PAGE_RECORDS: z.coerce.number().int().positive().default(defaultSummaryPageRecords),
  /** The run's lease; the shard writers extend it at every checkpoint. */
  LEASE_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(30 * 60_000),
});

export interface RunControllerConfig {
  readonly tableName: string;
  readonly workgroup: string;
  readonly database: string;
  readonly bucket: string;
  readonly allowedLatenessSeconds: number;
  readonly shards: number;
  readonly minRows: number;
  readonly safetyMarginMs: number;
  readonly summaryPageRecords: number;
  readonly leaseMs: number;
}

/** Reads and validates the function's environment once, at cold start. */
export function readRunControllerConfig(
  env: Record<string, string | undefined>,
): RunControllerConfig {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`materialize-run configuration: ${issue?.path.join('.')}: ${issue?.message}`);
  }
  const c = parsed.data;
  return {
    tableName: c.TABLE_NAME,
    workgroup: c.ATHENA_WORKGROUP,
    database: c.ATHENA_DATABASE,
    bucket: c.OFFLINE_BUCKET,
    allowedLatenessSeconds: c.ALLOWED_LATENESS_SECONDS,
    shards: c.SHARDS,
    minRows: c.MIN_ROWS,
    safetyMarginMs: c.SAFETY_MARGIN_MS,
    summaryPageRecords: c.SUMMARY_PAGE_RECORDS,
    leaseMs: c.LEASE_MS,
  };
}
