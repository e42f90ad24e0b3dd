import { describe, expect, it } from 'vitest';
import {
  defineAggregationView,
  defineEntity,
  defineSource,
} from '../../../lib/definitions/index.ts';
import { runningTotalsView } from '../../../lib/offline/running-totals.ts';
import {
  changedScale,
  mergedSumScales,
  mergeSumStatistics,
} from '../../../lib/offline/sum-scale-statistics.ts';
import { compileRegistry } from '../../../lib/registry/index.ts';
import { chooseSumScales } from '../../../lib/sql/render-running-totals.ts';
import { FullBuildRequired } from '../../../lib/sql/render-running-totals-increment.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const orders = defineSource({
  name: 'orders',
  schema: { customer_id: 'string', amount: 'float64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const spend = defineAggregationView({
  name: 'spend',
  entities: [customer],
  source: orders,
  aggregations: { amount: { functions: ['sum'], windows: ['7d'] } },
});
const view = runningTotalsView(
  compileRegistry([customer, orders, spend].map((definition) => ({ definition }))),
  'spend',
);
if (!view) throw new Error('spend has no running totals');

describe('sum-scale statistics of an increment', () => {
  it('merge as the statistics of the union: smallest exponent, summed magnitudes and non-finite counts, NULL for none', () => {
    expect(
      mergeSumStatistics(
        { 'amount@lo': -7, 'amount@abs': 10.5, 'amount@bad': 0 },
        { 'amount@lo': -3, 'amount@abs': 2, 'amount@bad': 1 },
      ),
    ).toEqual({ 'amount@lo': -7, 'amount@abs': 12.5, 'amount@bad': 1 });
    expect(
      mergeSumStatistics(
        { 'amount@lo': null, 'amount@abs': null, 'amount@bad': 0 },
        { 'amount@lo': -9, 'amount@abs': 3, 'amount@bad': 0 },
      ),
    ).toEqual({ 'amount@lo': -9, 'amount@abs': 3, 'amount@bad': 0 });
  });

  it('refuse a statistic they do not know how to merge, naming it', () => {
    expect(() => mergeSumStatistics({ 'amount@max': 1 }, { 'amount@max': 2 })).toThrow(
      new FullBuildRequired('the sum-scale statistic amount@max cannot be merged'),
    );
  });

  it('choose the scale a full build would, and leave a magnitude at a bit boundary of the fit test to a full build', () => {
    // 0.01 has exponent -7, so the scale is -61 and the summed magnitudes must stay within
    // 2^62 for the scaled sums to fit 124 bits.
    const far = { 'amount@lo': -7, 'amount@abs': 2 ** 40, 'amount@bad': 0 };
    expect(mergedSumScales(view, far)).toEqual(chooseSumScales(view, far));
    expect(mergedSumScales(view, far).get('amount')).toBe(-61);
    const edge = { ...far, 'amount@abs': 2 ** 62 };
    expect(() => mergedSumScales(view, edge)).toThrow(
      new FullBuildRequired(
        'the sum of column amount is at the edge of exact sums, where only a full build decides',
      ),
    );
    expect(mergedSumScales(view, { ...far, 'amount@abs': 2 ** 63 }).has('amount')).toBe(false);
  });

  it('name the first column whose scale changed', () => {
    expect(changedScale(new Map([['amount', -61]]), new Map([['amount', -61]]))).toBeUndefined();
    expect(changedScale(new Map([['amount', -61]]), new Map([['amount', -64]]))).toBe('amount');
    expect(changedScale(new Map([['amount', -61]]), new Map())).toBe('amount');
  });
});
