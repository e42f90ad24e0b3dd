import { describe, expect, it } from 'vitest';
import {
  defineAggregationView,
  defineEntity,
  defineFeatureView,
  defineSource,
} from '../../lib/definitions/index.ts';
import type { PointInTimeStrategy } from '../../lib/sql/render-training-set.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const orders = defineSource({
  name: 'orders',
  schema: { customer_id: 'string', amount: 'float64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const profiles = defineSource({
  name: 'profiles',
  schema: { customer_id: 'string', plan: 'string', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const orderStats = defineAggregationView({
  name: 'order_stats',
  entities: [customer],
  source: orders,
  aggregations: { amount: { functions: ['sum'], windows: ['7d'] } },
});
const profile = defineFeatureView({
  name: 'profile',
  entities: [customer],
  source: profiles,
  features: { plan: 'string' },
});

// The aggregation view comes first and the passthrough view second: each view's match flag must
// then be carried to its own position in the plan, not to the passthrough query's own index.
describe.each<PointInTimeStrategy>(['asof', 'merge-window'])(
  'match rates of a training set mixing an aggregation view and a passthrough view (%s)',
  (strategy) => {
    it('counts, per view, the entity rows that view had a row for', async () => {
      const fixture = await offlineFixture([orders, profiles, orderStats, profile], strategy);
      await fixture.ingest('orders', [
        { customer_id: 'a', amount: 5, event_ts: '2026-03-01T00:00:00Z' },
        { customer_id: 'b', amount: 7, event_ts: '2026-03-01T00:00:00Z' },
        { customer_id: 'c', amount: 9, event_ts: '2026-03-01T00:00:00Z' },
      ]);
      await fixture.ingest('profiles', [
        { customer_id: 'a', plan: 'pro', event_ts: '2026-02-01T00:00:00Z' },
      ]);
      const result = await fixture.trainingSet(
        ['a', 'b', 'c', 'd'].map((id) => ({
          customer_id: id,
          event_timestamp: '2026-03-02T00:00:00Z',
        })),
        { request: { features: ['order_stats:amount_sum_7d', 'profile:plan'] } },
      );
      expect(result.matchRates).toEqual([
        { view: 'order_stats', matched: 3, rate: 0.75 },
        { view: 'profile', matched: 1, rate: 0.25 },
      ]);
      expect(result.records?.map((r) => [r.customer_id, r.amount_sum_7d, r.plan])).toEqual([
        ['a', 5, 'pro'],
        ['b', 7, null],
        ['c', 9, null],
        ['d', null, null],
      ]);
    });
  },
);
