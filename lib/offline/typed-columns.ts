import type { ValueType } from '../definitions/index.ts';
import { quoteIdentifier } from '../sql/dialect.ts';
import { duckdbType } from '../sql/duckdb-dialect.ts';

/**
 * The raw value as DuckDB should convert it. JSON lines with mixed types in a column arrive as
 * JSON values; their text (without JSON quotes) is what to convert and to show in errors.
 */
export function rawText(raw: string, rawType: string): string {
  return rawType === 'JSON' ? `(${quoteIdentifier(raw)} ->> '$')` : quoteIdentifier(raw);
}

const integerTypes: ReadonlySet<ValueType> = new Set(['int32', 'int64']);

/**
 * DuckDB expression turning raw column `raw` (of DuckDB type `rawType`) into `type`, or NULL
 * when it does not convert. Timestamps with offsets become UTC; text without an offset is UTC.
 */
export function castExpression(raw: string, rawType: string, type: ValueType): string {
  const column = rawText(raw, rawType);
  if (type === 'timestamp') {
    if (rawType === 'TIMESTAMP') return column;
    if (rawType.startsWith('TIMESTAMP'))
      return `(TRY_CAST(${column} AS TIMESTAMPTZ) AT TIME ZONE 'UTC')`;
    return `(TRY_CAST(${column} AS TIMESTAMPTZ) AT TIME ZONE 'UTC')`;
  }
  return `TRY_CAST(${column} AS ${duckdbType(type)})`;
}

/** DuckDB's integer types: converting one to another is exact, or NULL when it does not fit. */
const rawIntegerTypes: ReadonlySet<string> = new Set(
  ['TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'HUGEINT'].flatMap((t) => [t, `U${t}`]),
);

/** True for rows where `raw` holds a value that does not convert to `type` without loss. */
export function invalidCondition(raw: string, rawType: string, type: ValueType): string {
  const column = rawText(raw, rawType);
  const cast = castExpression(raw, rawType, type);
  // The DOUBLE comparison catches a fraction the integer cast would round away. An integer
  // column has none, and DuckDB rounds a HUGEINT (a JSON-lines column holding 2^63 - 1) to
  // DOUBLE differently from the BIGINT it equals, which flagged valid int64 values.
  const lossy =
    integerTypes.has(type) && !rawIntegerTypes.has(rawType)
      ? ` OR (TRY_CAST(${column} AS DOUBLE) IS NOT NULL AND TRY_CAST(${column} AS DOUBLE) <> ${cast})`
      : '';
  return `(${column} IS NOT NULL AND (${cast} IS NULL${lossy}))`;
}
