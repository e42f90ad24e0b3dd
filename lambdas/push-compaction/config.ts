import { z } from 'zod';
import { defaultKeepReplacedMs } from '../../lib/offline/compact-replaced.ts';
import { defaultTargetFileBytes } from '../../lib/offline/parquet-layout.ts';
import { defaultMaxSetAsidePerRun, maxSetAsideLimit } from '../../lib/offline/push-ingest-run.ts';

/** A whole number from `min` to `max`, refused naming the range (the raw value is added below). */
const wholeNumber = (min: number, max: number, fallback: number) => {
  const error = `must be a whole number from ${min} to ${max}`;
  return z.coerce
    .number({ error })
    .int({ error })
    .min(min, { error })
    .max(max, { error })
    .default(fallback);
};

const configSchema = z.object({
  OFFLINE_BUCKET: z.string().min(3),
  /** Set by Lambda itself. */
  AWS_REGION: z.string().min(1),
  /** Where staged objects are downloaded and batches written: Lambda's ephemeral storage. */
  WORK_DIR: z.string().min(1).default('/tmp'),
  /** No new source or batch starts with less than this left; the next scheduled run continues. */
  RESERVE_MS: z.coerce.number().int().min(10_000).default(180_000),
  /** Staged objects per push batch, as `fstore compact`. */
  MAX_OBJECTS: wholeNumber(1, 10_000, 1_000),
  /** Staged objects set aside per source per run at most; then the source waits for a person. */
  MAX_SET_ASIDE: wholeNumber(1, maxSetAsideLimit, defaultMaxSetAsidePerRun),
  TARGET_FILE_BYTES: z.coerce.number().int().min(1024).default(defaultTargetFileBytes),
  KEEP_REPLACED_MS: z.coerce.number().int().min(0).default(defaultKeepReplacedMs),
});

export interface PushCompactionConfig {
  readonly bucket: string;
  readonly region: string;
  readonly workDir: string;
  readonly reserveMs: number;
  readonly maxObjects: number;
  readonly maxSetAside: number;
  readonly targetBytes: number;
  readonly keepReplacedMs: number;
}

/** Reads and validates the function's environment once, at cold start. */
export function readPushCompactionConfig(
  env: Record<string, string | undefined>,
): PushCompactionConfig {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue?.path[0] ?? '');
    const given = env[name] !== undefined ? `, not ${JSON.stringify(env[name])}` : '';
    throw new Error(`push-compaction configuration: ${name}: ${issue?.message}${given}`);
  }
  const c = parsed.data;
  return {
    bucket: c.OFFLINE_BUCKET,
    region: c.AWS_REGION,
    workDir: c.WORK_DIR,
    reserveMs: c.RESERVE_MS,
    maxObjects: c.MAX_OBJECTS,
    maxSetAside: c.MAX_SET_ASIDE,
    targetBytes: c.TARGET_FILE_BYTES,
    keepReplacedMs: c.KEEP_REPLACED_MS,
  };
}
