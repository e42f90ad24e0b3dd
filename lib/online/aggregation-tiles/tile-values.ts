/**
 * A column value as tiles keep it: numbers (floats, and integers within 2^53), bigints (int64
 * beyond), strings (also ISO timestamps, all with one format), booleans and lists (only `last`
 * keeps those).
 */
export type TileValue = number | bigint | string | boolean | readonly unknown[];

/**
 * The order of min and max, as DuckDB's: numbers numerically (NaN above every number, as
 * DuckDB orders it), strings by code point (the order of their UTF-8 bytes, not of UTF-16
 * units), false before true. Values of different kinds are a caller's error.
 */
export function compareValues(a: TileValue, b: TileValue): number {
  if (isNumeric(a) && isNumeric(b)) return compareNumbers(a, b);
  if (typeof a === 'string' && typeof b === 'string') return compareCodePoints(a, b);
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  throw new TypeError(`cannot order ${describe(a)} against ${describe(b)}`);
}

const isNumeric = (x: TileValue): x is number | bigint =>
  typeof x === 'number' || typeof x === 'bigint';

function compareNumbers(a: number | bigint, b: number | bigint): number {
  const aNaN = typeof a === 'number' && Number.isNaN(a);
  const bNaN = typeof b === 'number' && Number.isNaN(b);
  if (aNaN || bNaN) return Number(aNaN) - Number(bNaN);
  // `<` compares a bigint with a number exactly.
  return a < b ? -1 : b < a ? 1 : 0;
}

function compareCodePoints(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a.codePointAt(i) ?? 0;
    const y = b.codePointAt(j) ?? 0;
    if (x !== y) return x < y ? -1 : 1;
    i += x > 0xffff ? 2 : 1;
    j += y > 0xffff ? 2 : 1;
  }
  if (i < a.length) return 1;
  return j < b.length ? -1 : 0;
}

const describe = (x: TileValue) => (Array.isArray(x) ? 'a list' : `a ${typeof x}`);
