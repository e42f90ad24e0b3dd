/**
 * The table of an environment's Idempotency-Key records: created by the stack on AWS
 * (lib/constructs/push-route.ts) and at `fstore serve` start beside the local online table.
 */
export function pushIdempotencyTableName(env: string): string {
  return `fstore-${env}-push-idempotency`;
}

/** How long a push's answer is kept for replays when nothing says otherwise: one hour. */
export const defaultIdempotencyExpirySeconds = 3_600;

/**
 * The local server's record expiry: FSTORE_PUSH_IDEMPOTENCY_EXPIRY_SECONDS (a whole number of
 * seconds, at least 1), else the default.
 */
export function localIdempotencyExpirySeconds(env: Record<string, string | undefined>): number {
  const text = env.FSTORE_PUSH_IDEMPOTENCY_EXPIRY_SECONDS;
  if (text === undefined || text.trim() === '') return defaultIdempotencyExpirySeconds;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1)
    throw new Error(
      `FSTORE_PUSH_IDEMPOTENCY_EXPIRY_SECONDS must be a whole number of seconds, 1 or more (got "${text}")`,
    );
  return value;
}
