import type { ValueType } from '../definitions/index.ts';
import { dayOfMicros, epochMicrosOf, parseEpochMicros, sqlTimestampText } from '../epoch-micros.ts';

/** What differs between the SQL engines fstore generates for; everything else is shared. */
export interface Dialect {
  readonly name: 'duckdb' | 'athena';
  quote(identifier: string): string;
  literal(text: string): string;
  sqlType(type: ValueType): string;
  /** A row value holding named fields, non-NULL even when every field is NULL. */
  struct(fields: readonly { name: string; expression: string; type: ValueType }[]): string;
  field(structExpression: string, name: string): string;
  /** last_value(expression) skipping NULLs, over the window `over`. */
  lastValueIgnoringNulls(expression: string, over: string): string;
  /** `timestampExpression` minus a whole number of seconds. */
  minusSeconds(timestampExpression: string, seconds: number): string;
  timestampLiteral(isoUtc: string): string;
  /** A timestamp as BIGINT microseconds since the epoch (UTC). */
  epochMicros(timestampExpression: string): string;
  /** Quantiles `ps` (0..1) of a numeric expression as one array (exact or approximate). */
  quantiles(expression: string, ps: readonly number[]): string;
  /** True when a float is NaN or an infinity, NULL for NULL. */
  notFinite(expression: string): string;
  /** Number of distinct non-NULL values of `expression` over the window `over`. */
  countDistinctOver(expression: string, over: string): string;
  /** The stored rows of a source, with its `dt` partition column as text. */
  sourceRelation(source: string): string;
}

/**
 * Double-quoted SQL identifier, the one implementation every dialect and every SQL string
 * fstore builds uses (DuckDB and Athena quote identifiers alike).
 */
export function quoteIdentifier(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

/** Single-quoted SQL string literal, the one implementation (DuckDB and Athena alike). */
export function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** TIMESTAMP literal text (UTC) from an ISO instant, microseconds kept: '2026-01-31 12:00:00.000300'. */
export function timestampText(isoUtc: string): string {
  const micros = parseEpochMicros(isoUtc);
  if (micros === undefined) throw new Error(`not a timestamp: ${isoUtc}`);
  return sqlTimestampText(micros);
}

/** The UTC calendar day of an ISO instant or epoch microseconds, as the `dt` value 'YYYY-MM-DD'. */
export function partitionDay(instant: string | bigint): string {
  return dayOfMicros(typeof instant === 'bigint' ? instant : epochMicrosOf(instant));
}
