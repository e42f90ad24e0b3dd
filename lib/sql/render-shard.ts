import type { JoinKeyType } from '../definitions/index.ts';
import type { Dialect } from './dialect.ts';

/**
 * The shard (0 .. shards-1) of the entity whose join keys are these columns: the first 32 bits
 * of the MD5 of the key text (each value as VARCHAR, NULL as '', joined by chr(31)), modulo the
 * shard count. DuckDB's md5() gives lowercase hex and Trino's to_hex(md5(to_utf8(...))) uppercase;
 * both hash the UTF-8 bytes, and both casts read the same 8 hex digits as the same number, which
 * is what shardOfKey (lib/materialize/shard-plan.ts) computes in the materializer.
 */
export function renderShardOf(
  joinKeys: readonly { name: string; type: JoinKeyType }[],
  dialect: Dialect,
  shards: number,
): string {
  if (!Number.isSafeInteger(shards) || shards < 1)
    throw new Error(`a shard count is a whole number ≥ 1, got ${shards}`);
  const text = joinKeys
    .map((key) => `COALESCE(CAST(${dialect.quote(key.name)} AS VARCHAR), '')`)
    .join(' || chr(31) || ');
  const first32Bits =
    dialect.name === 'athena'
      ? `from_base(substr(to_hex(md5(to_utf8(${text}))), 1, 8), 16)`
      : `CAST('0x' || substr(md5(${text}), 1, 8) AS UBIGINT)`;
  return `${first32Bits} % ${shards}`;
}
