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
 * The longest a push's answer may be kept for replays: a day. Offline, a retry is found
 * ingested by its push id in the ledger of ingested pushes (ingested-log-ledger.ts), which
 * keeps ids this long plus `maxInProgressExpirySeconds`; a longer expiry would let a retry after
 * the ledger dropped its id land twice.
 */
export const maxIdempotencyExpirySeconds = 86_400;

/**
 * The longest a push in progress may hold its key (a push that died after writing its log is
 * run again after it): AWS Lambda's maximum timeout, above the push function's 28 s, the local
 * server's 30 s and `fstore push`'s 120 s.
 */
export const maxInProgressExpirySeconds = 900;

/**
 * The local server's record expiry: FSTORE_PUSH_IDEMPOTENCY_EXPIRY_SECONDS (a whole number of
 * seconds, 1 to 86400), else the default.
 */
export function localIdempotencyExpirySeconds(env: Record<string, string | undefined>): number {
  const text = env.FSTORE_PUSH_IDEMPOTENCY_EXPIRY_SECONDS;
  if (text === undefined || text.trim() === '') return defaultIdempotencyExpirySeconds;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1)
    throw new Error(
      `FSTORE_PUSH_IDEMPOTENCY_EXPIRY_SECONDS must be a whole number of seconds, 1 or more (got "${text}")`,
    );
  if (value > maxIdempotencyExpirySeconds)
    throw new Error(
      `FSTORE_PUSH_IDEMPOTENCY_EXPIRY_SECONDS must be at most ${maxIdempotencyExpirySeconds} (one day; got "${text}"): the offline store remembers ingested pushes for a day, so a retry after a longer expiry could land twice`,
    );
  return value;
}
