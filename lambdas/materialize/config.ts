import { z } from 'zod';

const configSchema = z.object({
  TABLE_NAME: z.string().min(3),
  ATHENA_WORKGROUP: z.string().min(1),
  ATHENA_DATABASE: z.string().min(1),
  OFFLINE_BUCKET: z.string().min(3),
  QUARANTINE_PREFIX: z.string().default('quarantine/'),
  /**
   * Only for a store without commit records: on AWS every run finds the ingest records under
   * `offline/_ingests/`, so runs are incremental by ingest and late rows need no lateness.
   */
  ALLOWED_LATENESS_SECONDS: z.coerce.number().int().min(0).default(3600),
  WRITE_CONCURRENCY: z.coerce.number().int().positive().default(32),
  /** Stop and hand over to a follow-up invocation when less than this is left. */
  SAFETY_MARGIN_MS: z.coerce.number().int().positive().default(120_000),
  MAX_CONTINUATIONS: z.coerce.number().int().min(0).default(100),
  /** Rows written between checkpoints. */
  CHUNK_ROWS: z.coerce.number().int().positive().default(2000),
});

export interface MaterializeConfig {
  readonly tableName: string;
  readonly workgroup: string;
  readonly database: string;
  readonly bucket: string;
  readonly quarantinePrefix: string;
  readonly allowedLatenessSeconds: number;
  readonly concurrency: number;
  readonly safetyMarginMs: number;
  readonly maxContinuations: number;
  readonly chunkRows: number;
}

/** Reads and validates the function's environment once, at cold start. */
export function readMaterializeConfig(env: Record<string, string | undefined>): MaterializeConfig {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`materialize configuration: ${issue?.path.join('.')}: ${issue?.message}`);
  }
  const c = parsed.data;
  return {
    tableName: c.TABLE_NAME,
    workgroup: c.ATHENA_WORKGROUP,
    database: c.ATHENA_DATABASE,
    bucket: c.OFFLINE_BUCKET,
    quarantinePrefix: c.QUARANTINE_PREFIX,
    allowedLatenessSeconds: c.ALLOWED_LATENESS_SECONDS,
    concurrency: c.WRITE_CONCURRENCY,
    safetyMarginMs: c.SAFETY_MARGIN_MS,
    maxContinuations: c.MAX_CONTINUATIONS,
    chunkRows: c.CHUNK_ROWS,
  };
}
