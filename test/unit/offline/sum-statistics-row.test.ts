import { describe, expect, it } from 'vitest';
import { sumStatistics } from '../../../lib/offline/sum-scale-statistics.ts';

describe('sumStatistics', () => {
  it('turns a query row into numbers, bigints and numeric text included, keeping every key', () => {
    expect(sumStatistics({ 'amount@lo': -3n, 'amount@abs': '12.5', 'amount@bad': 0 })).toEqual({
      'amount@lo': -3,
      'amount@abs': 12.5,
      'amount@bad': 0,
    });
  });

  it('keeps a missing statistic as null, never as 0', () => {
    expect(sumStatistics({ 'a@lo': null, 'a@abs': undefined })).toEqual({
      'a@lo': null,
      'a@abs': null,
    });
  });

  it('gives nothing for an empty row', () => {
    expect(sumStatistics({})).toEqual({});
  });
});
