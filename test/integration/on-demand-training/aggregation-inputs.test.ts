import { describe, expect, it } from 'vitest';
import {
  defineAggregationView,
  defineEntity,
  defineFeatureService,
  defineOnDemandView,
  defineSource,
} from '../../../lib/definitions/index.ts';
import { offlineFixture } from '../../helpers/offline-fixture.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const orders = defineSource({
  name: 'orders',
  schema: { customer_id: 'string', amount: 'float64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const stats = defineAggregationView({
  name: 'order_stats',
  entities: [customer],
  source: orders,
  aggregations: { amount: { functions: ['sum', 'count'], windows: ['7d'] } },
});
const share = defineOnDemandView({
  name: 'basket_share',
  request: { basket: 'float64' },
  inputs: [stats.select(['amount_sum_7d', 'amount_count_7d'])],
  features: { seen_sum: 'float64', seen_count: 'int64', share: 'float64' },
  transform: (row) => ({
    seen_sum: row.amount_sum_7d,
    seen_count: row.amount_count_7d,
    share: row.amount_sum_7d ? row.basket / row.amount_sum_7d : null,
  }),
});
const onlyShare = defineFeatureService({ name: 'only_share', features: [share] });
// The stored sum is selected too, and also fetched as a hidden input of the transform.
const withStored = defineFeatureService({
  name: 'with_stored',
  features: [stats.select(['amount_sum_7d', 'amount_count_7d']), share],
});

const day = 86_400_000;
const t = Date.parse('2026-03-10T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const orderRows = [
  { customer_id: 'C1', amount: 10, event_ts: iso(t - 8 * day) }, // outside 7d
  { customer_id: 'C1', amount: 20, event_ts: iso(t - 3 * day) },
  { customer_id: 'C1', amount: 30, event_ts: iso(t - day) },
  { customer_id: 'C2', amount: 5, event_ts: iso(t - 2 * day) },
  { customer_id: 'C1', amount: 1000, event_ts: iso(t + day) }, // after the entity time
];
const entities = [
  { customer_id: 'C1', event_timestamp: iso(t), basket: 25 },
  { customer_id: 'C2', event_timestamp: iso(t), basket: 1 },
  { customer_id: 'C3', event_timestamp: iso(t), basket: 1 },
];

describe.each([
  { mode: 'range join', strategy: 'asof', aggregations: 'range-join' },
  { mode: 'running totals', strategy: 'asof', aggregations: 'running-totals' },
  { mode: 'window form', strategy: 'merge-window', aggregations: 'range-join' },
] as const)(
  'an aggregation view as the input of an on-demand view ($mode)',
  ({ strategy, aggregations }) => {
    it.each(['only_share', 'with_stored'])(
      'gives the transform the windowed values as of each row (service %s)',
      async (service) => {
        const fixture = await offlineFixture(
          [customer, orders, stats, share, onlyShare, withStored],
          strategy,
        );
        await fixture.ingest('orders', orderRows);
        const result = await fixture.trainingSet(entities, { request: { service }, aggregations });
        expect(result.sql.includes('_running_totals')).toBe(aggregations === 'running-totals');
        expect(
          result.records?.map((r) => [r.customer_id, r.seen_sum, r.seen_count, r.share]),
        ).toEqual([
          ['C1', 50, 2, 0.5],
          ['C2', 5, 1, 0.2],
          ['C3', null, 0, null],
        ]);
        if (service === 'with_stored')
          expect(result.records?.map((r) => [r.amount_sum_7d, r.amount_count_7d])).toEqual([
            [50, 2],
            [5, 1],
            [null, 0],
          ]);
      },
      120_000,
    );
  },
);
