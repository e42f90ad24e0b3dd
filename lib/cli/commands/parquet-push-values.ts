import { listElementType, type ValueType } from '../../definitions/value-types.ts';

const bigIntegerType = /^(U?BIGINT|U?HUGEINT)$/;
const decimalType = /^DECIMAL\(\d+,\s*\d+\)$/;

/**
 * The SQL reading a Parquet column of DuckDB type `type` for a push: timestamps (any precision,
 * with or without time zone) and dates as ISO-8601 UTC text with microseconds; decimals as their
 * exact text, which `pushValueOf` turns into numbers (a double would round digits beyond 2^53).
 */
export function parquetValue(column: string, type: string): string {
  const element = /^(.*)\[\]$/.exec(type)?.[1];
  if (element !== undefined) {
    const inner = parquetValue('x', element);
    return inner === 'x' ? column : `list_transform(${column}, x -> ${inner})`;
  }
  const iso = (timestamp: string) => `strftime(${timestamp}, '%Y-%m-%dT%H:%M:%S.%fZ')`;
  if (/^TIMESTAMP WITH TIME ZONE$|^TIMESTAMPTZ$/.test(type))
    return iso(`timezone('UTC', ${column})`);
  if (/^TIMESTAMP(_S|_MS|_NS)?$|^DATE$/.test(type)) return iso(`CAST(${column} AS TIMESTAMP)`);
  if (decimalType.test(type)) return `CAST(${column} AS VARCHAR)`;
  return column;
}

/**
 * A value `parquetValue` read (DuckDB type `type`) as a JSON push would carry it into a column
 * of `target` type: 64-bit integers and whole decimals as numbers where exact and as decimal
 * text beyond 2^53 (int64 columns only; elsewhere a decimal is the nearest double), so the push
 * rules see the file's digits. Anything else is left as read, for the rules to judge.
 */
export function pushValueOf(type: string, target: ValueType | undefined, value: unknown): unknown {
  if (value === null || value === undefined) return value;
  const element = /^(.*)\[\]$/.exec(type)?.[1];
  if (element !== undefined)
    return Array.isArray(value)
      ? value.map((item) => pushValueOf(element, target && listElementType(target), item))
      : value;
  if (typeof value !== 'string') return value;
  if (bigIntegerType.test(type)) return exactInteger(value);
  if (!decimalType.test(type)) return value;
  const whole = /^(-?\d+)(?:\.0*)?$/.exec(value)?.[1];
  return target === 'int64' && whole !== undefined ? exactInteger(whole) : Number(value);
}

/** Decimal integer text as a number where that is exact, else as canonical decimal text. */
function exactInteger(text: string): number | string {
  const canonical = BigInt(text).toString();
  const number = Number(canonical);
  return Number.isSafeInteger(number) ? number : canonical;
}
