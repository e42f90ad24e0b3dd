import * as z from 'zod/mini';

/** A whole number from an environment string, at least `min`, else `fallback` when unset. */
const wholeNumber = (min: number, fallback: number) =>
  z._default(
    z.coerce
      .number({ error: 'must be a number' })
      .check(
        z.refine(
          (n) => Number.isSafeInteger(n) && n >= min,
          min === 0 ? 'must be a whole number, 0 or more' : 'must be a positive whole number',
        ),
      ),
    fallback,
  );

/** Of the invocation's remaining time, what a lookup keeps for answering and logging. */
export const defaultDeadlineMarginMs = 500;

// zod/mini (no locale bundled): each rule names its own message.
const configSchema = z.object({
  TABLE_NAME: z
    .string({ error: 'is required: the online table name' })
    .check(z.minLength(3, 'must be a table name of at least 3 characters')),
  MAX_ENTITIES: wholeNumber(1, 1000),
  MAX_BODY_BYTES: wholeNumber(1, 262_144),
  CACHE_TTL_MS: wholeNumber(0, 0),
  DEADLINE_MARGIN_MS: wholeNumber(0, defaultDeadlineMarginMs),
});

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

/** Reads and validates the function's environment once, at cold start. */
export function readLookupConfig(env: Record<string, string | undefined>): LookupConfig {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`online-lookup configuration: ${issue?.path.join('.')}: ${issue?.message}`);
  }
  return {
    tableName: parsed.data.TABLE_NAME,
    maxEntities: parsed.data.MAX_ENTITIES,
    maxBodyBytes: parsed.data.MAX_BODY_BYTES,
    cacheTtlMs: parsed.data.CACHE_TTL_MS,
    deadlineMarginMs: parsed.data.DEADLINE_MARGIN_MS,
  };
}
