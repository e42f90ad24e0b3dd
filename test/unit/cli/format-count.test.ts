import { describe, expect, it } from 'vitest';
import { formatCount } from '../../../lib/cli/format-count.ts';

describe('formatCount writes a count as toLocaleString("en-US") does', () => {
  it.each([
    0,
    7,
    999,
    1000,
    1234,
    99_999,
    100_000,
    999_999,
    1_000_000,
    10_000_000,
    1_234_567_890,
    -1,
    -999,
    -1000,
    -1_234_567,
    Number.MAX_SAFE_INTEGER,
    Number.MIN_SAFE_INTEGER,
  ])('%d', (count) => {
    expect(formatCount(count)).toBe(count.toLocaleString('en-US'));
  });

  it.each([-0, 1.5, 1234.5678, 2 ** 60, Number.NaN, Number.POSITIVE_INFINITY])(
    'leaves %d (no safe whole number) to toLocaleString',
    (value) => {
      expect(formatCount(value)).toBe(value.toLocaleString('en-US'));
    },
  );
});
