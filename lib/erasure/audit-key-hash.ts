import { createHmac } from 'node:crypto';
import { HintedError } from '../hinted-error.ts';
import type { ErasureKey } from './erasure-keys.ts';

/** How an audit line's key hashes were made; lines without `keyHash` hold plain `sha256:` hashes. */
export const auditKeyHashScheme = 'hmac-sha256';

/** The shortest audit secret accepted: 32 bytes, as long as the HMAC-SHA256 output. */
export const minAuditSecretBytes = 32;

export class AuditKeyError extends HintedError {}

/**
 * What the audit keeps of each key: HMAC-SHA256 of `key=value` under the environment's secret
 * (`hmac-sha256:<hex>`), never the value. A plain sha256 of a short id is found by hashing
 * candidate ids; without the secret, it is not. The same key gives the same hash in one
 * environment (a later delete can be matched to an earlier one) and another in the next.
 * Local and AWS deletes both hash through here.
 */
export function hashErasureKeys(
  keys: readonly ErasureKey[],
  secret: Uint8Array,
): { key: string; hash: string }[] {
  if (secret.byteLength < minAuditSecretBytes)
    throw new AuditKeyError(
      `the audit secret is ${secret.byteLength} bytes; at least ${minAuditSecretBytes} are needed`,
      'use the environment’s audit key (local: audit/audit-key, AWS: the AuditKeySecretArn secret)',
    );
  return keys.map((key) => ({
    key: key.key,
    hash: `${auditKeyHashScheme}:${createHmac('sha256', secret).update(`${key.key}=${key.value}`).digest('hex')}`,
  }));
}
