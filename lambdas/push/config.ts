import { defaultPushLimits, type PushLimits } from '../../lib/push/push-limits.ts';

/** The push function's settings, from its environment (set by lib/constructs/push-route.ts). */
export interface PushConfig {
  /** The online table the rows are written to. */
  readonly tableName: string;
  readonly limits: PushLimits;
  /**
   * The Idempotency-Key records' table and how long a key is remembered; without a table a
   * push with the header answers 501 (a retry could otherwise write twice unnoticed).
   */
  readonly idempotency?: {
    readonly tableName: string;
    readonly expiresAfterSeconds: number;
    /** How long a push in progress holds its key: the function's timeout. */
    readonly inProgressExpiryMs: number;
  };
  /**
   * The environment whose per-source Firehose streams (`pushStreamName`) take offline pushes
   * (ADR 0016); without it `"to": "offline"` and the default target answer 501.
   */
  readonly offlineStreamsEnv?: string;
}

/**
 * Reads and checks the function's environment once, at cold start: a misconfiguration fails
 * the init with the variable's name, not every request with a 500.
 */
export function readPushConfig(env: Record<string, string | undefined>): PushConfig {
  const idempotencyTable = env.IDEMPOTENCY_TABLE_NAME;
  const streamsEnv = env.PUSH_STREAMS_ENV;
  if (streamsEnv !== undefined && !/^[a-z][a-z0-9-]{0,39}$/.test(streamsEnv))
    throw configError('PUSH_STREAMS_ENV', `"${streamsEnv}" is not an fstore environment name`);
  return {
    tableName: tableName('TABLE_NAME', env.TABLE_NAME),
    limits: {
      maxRows: wholeNumber(env, 'MAX_ROWS', 1, defaultPushLimits.maxRows),
      maxBodyBytes: wholeNumber(env, 'MAX_BODY_BYTES', 1, defaultPushLimits.maxBodyBytes),
      maxFutureSkewSeconds: wholeNumber(
        env,
        'MAX_FUTURE_SKEW_SECONDS',
        0,
        defaultPushLimits.maxFutureSkewSeconds,
      ),
    },
    ...(idempotencyTable === undefined
      ? {}
      : {
          idempotency: {
            tableName: tableName('IDEMPOTENCY_TABLE_NAME', idempotencyTable),
            expiresAfterSeconds: wholeNumber(env, 'IDEMPOTENCY_EXPIRY_SECONDS', 1, 3_600),
            inProgressExpiryMs: wholeNumber(env, 'IDEMPOTENCY_IN_PROGRESS_MS', 1, 30_000),
          },
        }),
    ...(streamsEnv === undefined ? {} : { offlineStreamsEnv: streamsEnv }),
  };
}

function tableName(name: string, value: string | undefined): string {
  if (value === undefined) throw configError(name, 'is required: a DynamoDB table name');
  if (!/^[a-zA-Z0-9_.-]{3,255}$/.test(value))
    throw configError(name, `"${value}" is not a DynamoDB table name ([a-zA-Z0-9_.-], 3 to 255)`);
  return value;
}

function wholeNumber(
  env: Record<string, string | undefined>,
  name: string,
  min: number,
  fallback: number,
): number {
  const text = env[name];
  if (text === undefined || text.trim() === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min)
    throw configError(name, `must be a whole number, ${min} or more (got "${text}")`);
  return value;
}

const configError = (name: string, problem: string) =>
  new Error(`push configuration: ${name}: ${problem}`);
