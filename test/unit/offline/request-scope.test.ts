import { describe, expect, it } from 'vitest';
import { mergeDayRanges } from '../../../lib/offline/request-scope.ts';

describe('request scope days', () => {
  it('joins overlapping and touching day ranges and keeps gaps', () => {
    expect(
      mergeDayRanges([
        { from: 10, to: 12 },
        { from: 1, to: 3 },
        { from: 4, to: 5 },
        { from: 11, to: 20 },
        { from: 7, to: 7 },
      ]),
    ).toEqual([
      { from: 1, to: 5 },
      { from: 7, to: 7 },
      { from: 10, to: 20 },
    ]);
  });

  it('lets a range without lower bound swallow every range before its end', () => {
    expect(mergeDayRanges([{ from: 3, to: 4 }, { to: 9 }, { from: 12, to: 13 }])).toEqual([
      { to: 9 },
      { from: 12, to: 13 },
    ]);
  });
});
