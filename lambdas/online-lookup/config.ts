/** Of the invocation's remaining time, what a lookup keeps for answering and logging. */
export const defaultDeadlineMarginMs = 500;

export interface LookupConfig {
  readonly tableName: string;
  readonly maxEntities: number;
  readonly maxBodyBytes: number;
  /** In-process cache lifetime of online items; 0 (the default) turns the cache off. */
  readonly cacheTtlMs: number;
  /**
   * Kept of the invocation's remaining time for answering: a lookup's deadline is the remaining
   * time less this, so a slow DynamoDB gets a logged 503, not the Lambda timeout's bare 5xx.
   * Default 500 ms (DEADLINE_MARGIN_MS).
   */
  readonly deadlineMarginMs?: number;
}

/**
 * Reads and validates the function's environment once, at cold start. Checked by hand, not with
 * a zod schema, whose construction was a measurable part of the cold init (ADR 0014).
 */
export function readLookupConfig(env: Record<string, string | undefined>): LookupConfig {
  return {
    tableName: tableNameOf(env.TABLE_NAME),
    maxEntities: wholeNumber(env, 'MAX_ENTITIES', 1, 1000),
    maxBodyBytes: wholeNumber(env, 'MAX_BODY_BYTES', 1, 262_144),
    cacheTtlMs: wholeNumber(env, 'CACHE_TTL_MS', 0, 0),
    deadlineMarginMs: wholeNumber(env, 'DEADLINE_MARGIN_MS', 0, defaultDeadlineMarginMs),
  };
}

function tableNameOf(value: string | undefined): string {
  if (value === undefined) throw configError('TABLE_NAME', 'is required: the online table name');
  if (value.length < 3)
    throw configError('TABLE_NAME', 'must be a table name of at least 3 characters');
  return value;
}

/** A whole number from an environment string, at least `min`, else `fallback` when unset. */
function wholeNumber(
  env: Record<string, string | undefined>,
  name: string,
  min: number,
  fallback: number,
): number {
  const text = env[name];
  if (text === undefined) return fallback;
  // Number(), as the variables were always read: '' is 0, surrounding spaces and 0x10 are allowed.
  const value = Number(text);
  if (!Number.isFinite(value)) throw configError(name, 'must be a number');
  if (!Number.isSafeInteger(value) || value < min)
    throw configError(
      name,
      min === 0 ? 'must be a whole number, 0 or more' : 'must be a positive whole number',
    );
  return value;
}

const configError = (name: string, problem: string) =>
  new Error(`online-lookup configuration: ${name}: ${problem}`);
