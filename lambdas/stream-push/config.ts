import { z } from 'zod';
import { defaultPushLimits } from '../../lib/push/push-limits.ts';

export { streamQuarantinePrefix } from '../../lib/push/stream-records.ts';

const configSchema = z.object({
  TABLE_NAME: z.string().regex(/^[a-zA-Z0-9_.-]{3,255}$/, 'must be a DynamoDB table name'),
  SOURCE_NAME: z.string().min(1),
  QUARANTINE_BUCKET: z.string().min(3),
  MAX_FUTURE_SKEW_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .default(defaultPushLimits.maxFutureSkewSeconds),
  WRITE_CONCURRENCY: z.coerce.number().int().positive().default(16),
  /** Set when the push's Firehose streams exist: rows are also sent offline. */
  PUSH_STREAMS_ENV: z
    .string()
    .regex(/^[a-z][a-z0-9-]*$/, 'must be an fstore environment name')
    .optional(),
});

/** The stream function's settings, from its environment (set by lib/constructs/stream-ingest.ts). */
export interface StreamPushConfig {
  readonly tableName: string;
  /** The source every record of the stream is a row of. */
  readonly source: string;
  readonly quarantineBucket: string;
  readonly maxFutureSkewSeconds: number;
  readonly writeConcurrency: number;
  /** The environment whose push delivery streams take the rows offline; none: online only. */
  readonly offlineStreamsEnv?: string;
}

/** Reads and validates the function's environment once, at cold start. */
export function readStreamPushConfig(env: Record<string, string | undefined>): StreamPushConfig {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`stream-push configuration: ${issue?.path.join('.')}: ${issue?.message}`);
  }
  const c = parsed.data;
  return {
    tableName: c.TABLE_NAME,
    source: c.SOURCE_NAME,
    quarantineBucket: c.QUARANTINE_BUCKET,
    maxFutureSkewSeconds: c.MAX_FUTURE_SKEW_SECONDS,
    writeConcurrency: c.WRITE_CONCURRENCY,
    ...(c.PUSH_STREAMS_ENV === undefined ? {} : { offlineStreamsEnv: c.PUSH_STREAMS_ENV }),
  };
}
