import { createHash, randomBytes } from 'node:crypto';
import stableStringify from 'safe-stable-stringify';

/**
 * A push's identity offline (docs/adr/0015-push.md): compaction ingests each push id once, so a
 * retry carrying its push's id lands once and a distinct push with equal rows lands again.
 * 32 lowercase hex digits (128 bits).
 */
export const pushIdPattern = /^[0-9a-f]{32}$/;

/** What the offline half of a push is told about it. */
export interface PushIdentity {
  readonly pushId: string;
  /** The Idempotency-Key the push carried, if any (its push id is the key's scope). */
  readonly idempotencyKey?: string;
}

/** A push without an Idempotency-Key: 128 random bits. */
export function newPushId(): string {
  return randomBytes(16).toString('hex');
}

/**
 * The push id of a keyed push: a hash of the key's scope (the key, the source and the caller's
 * identity when the runtime knows one) and of the request (target and rows, serialized with
 * object keys sorted, so key order does not matter): the payload Powertools validates a retry
 * against. Every retry of the push gets the same id; the same key with other rows (reused after
 * its record expired, or after a push that died in progress) is another push with another id,
 * and two producers' equal keys (other sources or callers) get different ids.
 */
export function scopedPushId(scope: {
  readonly key: string;
  readonly source: string;
  readonly caller?: string;
  readonly to: string;
  readonly rows: readonly unknown[];
}): string {
  const canonical = stableStringify([
    scope.key,
    scope.source,
    scope.caller ?? null,
    scope.to,
    scope.rows,
  ]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 32);
}
