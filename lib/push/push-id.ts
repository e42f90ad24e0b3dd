import { createHash, randomBytes } from 'node:crypto';

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
 * identity when the runtime knows one), so every retry of the push gets the same id and two
 * producers' equal keys (other sources or callers) get different ones.
 */
export function scopedPushId(scope: {
  readonly key: string;
  readonly source: string;
  readonly caller?: string;
}): string {
  return createHash('sha256')
    .update(JSON.stringify([scope.key, scope.source, scope.caller ?? null]))
    .digest('hex')
    .slice(0, 32);
}
