import { describe, expect, it } from 'vitest';
import { Prng } from '../../../../lib/demo/prng.ts';
import { roundUnits, unitsOf } from '../../../../lib/online/aggregation-tiles/exact-float-sum.ts';

const sumExactly = (values: number[]) => roundUnits(values.reduce((s, v) => s + unitsOf(v), 0n));
const randomDouble = (prng: Prng) => {
  const bytes = new Float64Array(1);
  const words = new Uint32Array(bytes.buffer);
  words[0] = Math.floor(prng.next() * 2 ** 32);
  words[1] = Math.floor(prng.next() * 2 ** 32);
  return bytes[0] ?? 0;
};

describe('exact float sums in 2^-1074 units', () => {
  it('gives back every finite double from its units, subnormals and the largest included', () => {
    const prng = new Prng(1);
    const special = [
      0,
      1,
      -1,
      0.1,
      Number.MIN_VALUE,
      -Number.MIN_VALUE,
      Number.MAX_VALUE,
      2 ** -1022,
    ];
    const random = Array.from({ length: 2000 }, () => randomDouble(prng)).filter(Number.isFinite);
    for (const x of [...special, ...random])
      expect(Object.is(roundUnits(unitsOf(x)), x)).toBe(true);
  });

  it('rounds the exact sum once, ties to even, where adding doubles in order rounds twice', () => {
    // 2^53 + 1 is a tie between 2^53 and 2^53 + 2: even wins; 2^53 + 1 + 1 is exactly 2^53 + 2.
    expect(sumExactly([2 ** 53, 1])).toBe(2 ** 53);
    expect(sumExactly([2 ** 53, 1, 1])).toBe(2 ** 53 + 2);
    expect(2 ** 53 + 1 + 1).toBe(2 ** 53);
    expect(sumExactly([1e16, 1, -1e16])).toBe(1);
    expect(sumExactly([0.1, 0.2])).toBe(0.30000000000000004);
    expect(sumExactly([0.1, 0.2, -0.3])).toBe(2.7755575615628914e-17);
  });

  it('gives the same double whatever the order of the values', () => {
    const prng = new Prng(2);
    const values = Array.from(
      { length: 200 },
      () => (prng.next() - 0.5) * 2 ** (prng.next() * 80 - 40),
    );
    const reversed = [...values].reverse();
    expect(Object.is(sumExactly(values), sumExactly(reversed))).toBe(true);
  });

  it('overflows to infinity only when the exact sum rounds past the largest double', () => {
    expect(sumExactly([Number.MAX_VALUE, Number.MAX_VALUE])).toBe(Number.POSITIVE_INFINITY);
    expect(sumExactly([Number.MAX_VALUE, Number.MAX_VALUE, -Number.MAX_VALUE])).toBe(
      Number.MAX_VALUE,
    );
    expect(sumExactly([-Number.MAX_VALUE, -Number.MAX_VALUE])).toBe(Number.NEGATIVE_INFINITY);
  });

  it('refuses a value that has no units', () => {
    expect(() => unitsOf(Number.NaN)).toThrow(/only finite values have units, got NaN/);
    expect(() => unitsOf(Number.POSITIVE_INFINITY)).toThrow(/got Infinity/);
  });
});
