/**
 * The largest DEADLINE_MARGIN_MS: half the lookup function's 10 s timeout. A margin near the
 * timeout would leave every lookup no time to read, failing each one at once.
 */
export const maxDeadlineMarginMs = 5_000;

export interface LookupConfig {
  readonly tableName: string;
  readonly maxEntities: number;
  readonly maxBodyBytes: number;
  /** In-process cache lifetime of online items; 0 (the default) turns the cache off. */
  readonly cacheTtlMs: number;
  /**
   * Kept of the invocation's remaining time for answering: a lookup's deadline is the remaining
   * time less this, so a slow DynamoDB gets a logged 503, not the Lambda timeout's bare 5xx.
   * DEADLINE_MARGIN_MS, 0 to 5,000; when not set or blank, invocationOf's default (500 ms) applies.
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
    // Blank counts as unset here: Number('') is 0, which would silently drop the margin.
    ...(env.DEADLINE_MARGIN_MS === undefined || env.DEADLINE_MARGIN_MS.trim() === ''
      ? {}
      : {
          deadlineMarginMs: parseWholeNumber('DEADLINE_MARGIN_MS', env.DEADLINE_MARGIN_MS, 0, {
            max: maxDeadlineMarginMs,
            why: "half the lookup function's 10 s timeout; a larger margin leaves lookups no time to read",
          }),
        }),
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
  return text === undefined ? fallback : parseWholeNumber(name, text, min);
}

/** The whole number an environment variable's text gives, at least `min` and at most `limit.max`. */
function parseWholeNumber(
  name: string,
  text: string,
  min: number,
  limit?: { readonly max: number; readonly why: string },
): number {
  // Number(), as the variables were always read: '' is 0, surrounding spaces and 0x10 are allowed.
  const value = Number(text);
  if (!Number.isFinite(value)) throw configError(name, 'must be a number');
  if (!Number.isSafeInteger(value) || value < min)
    throw configError(
      name,
      min === 0 ? 'must be a whole number, 0 or more' : 'must be a positive whole number',
    );
  if (limit && value > limit.max)
    throw configError(name, `must be at most ${limit.max} (got ${value}): ${limit.why}`);
  return value;
}

const configError = (name: string, problem: string) =>
  new Error(`online-lookup configuration: ${name}: ${problem}`);
