/**
 * Exact sums of doubles for tiles (ADR 0020): every finite double is an integer multiple of
 * 2^-1074 (the smallest subnormal), so a sum of any doubles is an exact integer number of such
 * units, with no scale to choose and no overflow. Adding units in any order and grouping gives
 * the same integer, and rounding it once gives the double nearest the exact sum, ties to even:
 * the value lib/sql/exact-sum.ts computes offline whenever its scale exists.
 */

const float = new Float64Array(1);
const bits = new BigUint64Array(float.buffer);

/** `x` (finite) as an exact integer number of 2^-1074 units. */
export function unitsOf(x: number): bigint {
  if (!Number.isFinite(x)) throw new RangeError(`only finite values have units, got ${x}`);
  float[0] = x;
  const word = bits[0] ?? 0n;
  const exponent = Number((word >> 52n) & 0x7ffn);
  const fraction = word & 0xfffffffffffffn;
  // A normal value is (2^52 + fraction) × 2^(exponent - 1075); a subnormal fraction × 2^-1074.
  const magnitude = exponent === 0 ? fraction : (fraction | (1n << 52n)) << BigInt(exponent - 1);
  return word >> 63n === 1n ? -magnitude : magnitude;
}

/** The double nearest `units` × 2^-1074, ties to even (Infinity past the largest double). */
export function roundUnits(units: bigint): number {
  if (units === 0n) return 0;
  const magnitude = units < 0n ? -units : units;
  const shift = bitLength(magnitude) - 53;
  let value: number;
  if (shift <= 0) {
    // At most 53 bits: exact, and so is its product with a power of two that stays representable.
    value = Number(magnitude) * 2 ** -1074;
  } else {
    let kept = magnitude >> BigInt(shift);
    const rest = magnitude - (kept << BigInt(shift));
    const half = 1n << BigInt(shift - 1);
    if (rest > half || (rest === half && (kept & 1n) === 1n)) kept += 1n;
    value = timesPowerOfTwo(Number(kept), shift - 1074);
  }
  return units < 0n ? -value : value;
}

/** x × 2^exponent in steps that stay representable, so only the final result may overflow. */
function timesPowerOfTwo(x: number, exponent: number): number {
  let value = x;
  let left = exponent;
  while (left > 1000) {
    value *= 2 ** 1000;
    left -= 1000;
  }
  return value * 2 ** left;
}

function bitLength(n: bigint): number {
  const hex = n.toString(16);
  const top = Number.parseInt(hex[0] ?? '0', 16);
  return (hex.length - 1) * 4 + (32 - Math.clz32(top));
}
