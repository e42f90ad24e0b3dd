import { describe, expect, it } from 'vitest';
import { defineAggregationView, defineEntity, defineSource } from '../../lib/definitions/index.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';

// An aggregation view whose entity has two join keys: every window is per (store, customer), so
// rows of the same customer in another store, or of another customer in the same store, count
// for nothing. The aggregation tests elsewhere have one key, which hid SQL that used only one.
const storeCustomer = defineEntity({
  name: 'store_customer',
  joinKeys: [
    { name: 'store_id', type: 'string' },
    { name: 'customer_id', type: 'string' },
  ],
});
const visits = defineSource({
  name: 'visits',
  schema: {
    store_id: 'string',
    customer_id: 'string',
    amount: 'float64',
    items: 'int64',
    event_ts: 'timestamp',
  },
  timestampField: 'event_ts',
});
const visitStats = defineAggregationView({
  name: 'visit_stats',
  entities: [storeCustomer],
  source: visits,
  aggregations: {
    amount: { functions: ['count', 'sum', 'last'], windows: ['7d'] },
    // The average of an integer column is no exact float sum: the plain window or join avg.
    items: { functions: ['avg'], windows: ['7d'] },
  },
});

const visit = (store_id: string, customer_id: string, amount: number, event_ts: string) => ({
  store_id,
  customer_id,
  amount,
  items: amount % 7,
  event_ts,
});
const rows = [
  visit('S1', 'C1', 1, '2026-03-01T00:00:00Z'),
  visit('S1', 'C1', 2, '2026-03-02T00:00:00Z'),
  visit('S2', 'C1', 40, '2026-03-02T12:00:00Z'),
  visit('S1', 'C2', 300, '2026-03-02T18:00:00Z'),
];
const features = ['amount_count_7d', 'amount_sum_7d', 'amount_last_7d', 'items_avg_7d'];

describe.each([
  { mode: 'range join (asof strategy)', strategy: 'asof', aggregations: 'range-join' },
  { mode: 'running totals (asof strategy)', strategy: 'asof', aggregations: 'running-totals' },
  {
    mode: 'window form (merge-window strategy)',
    strategy: 'merge-window',
    aggregations: 'range-join',
  },
] as const)('aggregation features of an entity with two join keys, by $mode', (computation) => {
  it('keeps each (store, customer) pair to its own rows', async () => {
    const fixture = await offlineFixture([storeCustomer, visits, visitStats], computation.strategy);
    await fixture.ingest('visits', rows);
    const at = '2026-03-03T00:00:00Z';
    const result = await fixture.trainingSet(
      [
        { store_id: 'S1', customer_id: 'C1', event_timestamp: at },
        { store_id: 'S2', customer_id: 'C1', event_timestamp: at },
        { store_id: 'S1', customer_id: 'C2', event_timestamp: at },
        { store_id: 'S2', customer_id: 'C2', event_timestamp: at },
      ],
      {
        request: { features: features.map((f) => `visit_stats:${f}`) },
        aggregations: computation.aggregations,
      },
    );
    expect(
      (result.records ?? []).map((r) => [r.store_id, r.customer_id, ...features.map((f) => r[f])]),
    ).toEqual([
      ['S1', 'C1', 2, 3, 2, 1.5],
      ['S2', 'C1', 1, 40, 40, 5],
      ['S1', 'C2', 1, 300, 300, 6],
      ['S2', 'C2', 0, null, null, null],
    ]);
  });
});
