import { z } from 'zod';

const configSchema = z.object({
  TABLE_NAME: z.string().min(3),
  OFFLINE_BUCKET: z.string().min(3),
  /** Where a tile-fed view's shard reads its tile base rows (set when such a view is sharded). */
  ATHENA_WORKGROUP: z.string().min(1).optional(),
  ATHENA_DATABASE: z.string().min(1).optional(),
  QUARANTINE_PREFIX: z.string().default('quarantine/'),
  WRITE_CONCURRENCY: z.coerce.number().int().positive().default(32),
  /** Rows written between shard checkpoints. */
  CHUNK_ROWS: z.coerce.number().int().positive().default(2000),
  /** Stop at a checkpoint when less than this is left; the state machine invokes again. */
  SAFETY_MARGIN_MS: z.coerce.number().int().positive().default(60_000),
  /** The run's lease, extended at every shard checkpoint. */
  LEASE_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(30 * 60_000),
});

export interface ShardWriterConfig {
  readonly tableName: string;
  readonly bucket: string;
  /** Athena, for the tile bases of tile-fed views' runs (absent when no such view is sharded). */
  readonly athena?: { readonly workgroup: string; readonly database: string };
  readonly quarantinePrefix: string;
  readonly concurrency: number;
  readonly chunkRows: number;
  readonly safetyMarginMs: number;
  readonly leaseMs: number;
}

/** Reads and validates the function's environment once, at cold start. */
export function readShardWriterConfig(env: Record<string, string | undefined>): ShardWriterConfig {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`materialize-shard configuration: ${issue?.path.join('.')}: ${issue?.message}`);
  }
  const c = parsed.data;
  return {
    tableName: c.TABLE_NAME,
    bucket: c.OFFLINE_BUCKET,
    ...(c.ATHENA_WORKGROUP && c.ATHENA_DATABASE
      ? { athena: { workgroup: c.ATHENA_WORKGROUP, database: c.ATHENA_DATABASE } }
      : {}),
    quarantinePrefix: c.QUARANTINE_PREFIX,
    concurrency: c.WRITE_CONCURRENCY,
    chunkRows: c.CHUNK_ROWS,
    safetyMarginMs: c.SAFETY_MARGIN_MS,
    leaseMs: c.LEASE_MS,
  };
}
