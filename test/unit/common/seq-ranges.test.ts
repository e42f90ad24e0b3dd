import { describe, expect, it } from 'vitest';
import { mergeSeqRanges, type SeqRange, subtractSeqRanges } from '../../../lib/seq-ranges.ts';

/** The values a list of ranges holds, one by one (small ranges only). */
function values(ranges: readonly SeqRange[]): bigint[] {
  const found = new Set<bigint>();
  for (const [first, last] of ranges) for (let v = first; v <= last; v++) found.add(v);
  return [...found].sort((a, b) => (a < b ? -1 : 1));
}

/** A pseudo-random list of ranges within 0..60, seeded so a failure repeats. */
function randomRanges(seed: number): [bigint, bigint][] {
  let state = seed;
  const next = (n: number) => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state % n;
  };
  return Array.from({ length: next(8) }, () => {
    const first = BigInt(next(60));
    return [first, first + BigInt(next(6))] as [bigint, bigint];
  });
}

describe('seq ranges', () => {
  it('merges overlapping and touching ranges, in order, and keeps apart ones apart', () => {
    expect(
      mergeSeqRanges([
        [10n, 12n],
        [1n, 3n],
        [4n, 4n],
        [2n, 2n],
        [14n, 20n],
      ]),
    ).toEqual([
      [1n, 4n],
      [10n, 12n],
      [14n, 20n],
    ]);
  });

  it('refuses an empty range', () => {
    expect(() => mergeSeqRanges([[5n, 4n]])).toThrow('the seq range [5, 4] is empty');
  });

  it('subtracts: the kept values no left-out range holds, never a value between kept ranges', () => {
    expect(
      subtractSeqRanges(
        [
          [1n, 10n],
          [20n, 30n],
        ],
        [
          [0n, 2n],
          [5n, 5n],
          [9n, 22n],
          [30n, 40n],
        ],
      ),
    ).toEqual([
      [3n, 4n],
      [6n, 8n],
      [23n, 29n],
    ]);
    expect(subtractSeqRanges([[1n, 3n]], [[1n, 3n]])).toEqual([]);
    expect(subtractSeqRanges([[1n, 3n]], [])).toEqual([[1n, 3n]]);
  });

  it('subtracts as the value sets do, for 500 random lists', () => {
    for (let seed = 1; seed <= 500; seed++) {
      const kept = randomRanges(seed);
      const leftOut = randomRanges(seed * 7 + 3);
      const expected = values(kept).filter((v) => !values(leftOut).includes(v));
      const result = subtractSeqRanges(kept, leftOut);
      expect(values(result), `seed ${seed}`).toEqual(expected);
      expect(mergeSeqRanges(result), `seed ${seed}: merged and apart`).toEqual(result);
    }
  });
});
