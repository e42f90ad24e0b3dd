import { describe, expect, it } from 'vitest';
import { psi } from '../../../lib/quality/psi.ts';

describe('population stability index', () => {
  it('matches a hand-computed example', () => {
    // (0.25 - 0.5)·ln(0.25/0.5) + (0.75 - 0.5)·ln(0.75/0.5)
    expect(psi([50, 50], [25, 75])).toBeCloseTo(0.274653, 6);
  });

  it('is 0 for the same distribution at any scale', () => {
    expect(psi([10, 20, 30], [100, 200, 300])).toBeCloseTo(0, 12);
  });

  it('stays finite when a bin is empty, by flooring shares at 0.0001', () => {
    // (0.5 - 1)·ln(0.5/1) + (0.5 - 0.0001)·ln(0.5/0.0001)
    expect(psi([100, 0], [50, 50])).toBeCloseTo(4.604319, 5);
  });

  it('refuses histograms with different bins', () => {
    expect(() => psi([1, 2], [1, 2, 3])).toThrow('different bins');
  });
});
