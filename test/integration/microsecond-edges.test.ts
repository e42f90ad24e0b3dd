import { readFile } from 'node:fs/promises';
import path from 'node:path';
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
const hourly = defineAggregationView({
  name: 'hourly',
  entities: [customer],
  source: orders,
  aggregations: { amount: { functions: ['count', 'max', 'sum', 'last'], windows: ['1h'] } },
});
const lastOrder = defineFeatureView({
  name: 'last_order',
  entities: [customer],
  source: orders,
  features: { amount: 'float64' },
  ttl: '1h',
});

const features = ['amount_count_1h', 'amount_max_1h', 'amount_sum_1h', 'amount_last_1h'];

async function hourlyAt(
  computation: { strategy: PointInTimeStrategy; aggregations: 'range-join' | 'running-totals' },
  rows: { event_ts: string; amount: number }[],
  entityTimes: string[],
) {
  const fixture = await offlineFixture([customer, orders, hourly], computation.strategy);
  await fixture.ingest(
    'orders',
    rows.map((r) => ({ customer_id: 'C1', ...r })),
  );
  const result = await fixture.trainingSet(
    entityTimes.map((t) => ({ customer_id: 'C1', event_timestamp: t })),
    {
      request: { features: features.map((f) => `hourly:${f}`) },
      aggregations: computation.aggregations,
    },
  );
  expect(result.sql.includes('_running_totals')).toBe(
    computation.aggregations === 'running-totals',
  );
  return (result.records ?? []).map((r) => Object.fromEntries(features.map((f) => [f, r[f]])));
}

const none = { amount_count_1h: 0, amount_max_1h: null, amount_sum_1h: null, amount_last_1h: null };
const one = (amount: number) => ({
  amount_count_1h: 1,
  amount_max_1h: amount,
  amount_sum_1h: amount,
  amount_last_1h: amount,
});

describe.each([
  { strategy: 'asof', aggregations: 'range-join' },
  { strategy: 'asof', aggregations: 'running-totals' },
  { strategy: 'merge-window', aggregations: 'range-join' },
] as const)(
  'windowed aggregations at sub-millisecond edges ($strategy strategy, $aggregations)',
  (computation) => {
    it('counts a row 200µs before the entity time in the same millisecond (issue 14 §1)', async () => {
      const result = await hourlyAt(
        computation,
        [{ event_ts: '2024-04-01T00:00:00.000300Z', amount: 7 }],
        ['2024-04-01T00:00:00.000500Z'],
      );
      expect(result).toEqual([one(7)]);
    });

    it('leaves out a row 1µs after the entity time, and one exactly W before it', async () => {
      const result = await hourlyAt(
        computation,
        [
          { event_ts: '2024-04-01T00:00:00.000501Z', amount: 5 },
          { event_ts: '2024-03-31T23:00:00.000500Z', amount: 3 },
        ],
        ['2024-04-01T00:00:00.000500Z'],
      );
      expect(result).toEqual([none]);
    });

    it('counts a row 1µs inside the window start', async () => {
      const result = await hourlyAt(
        computation,
        [{ event_ts: '2024-03-31T23:00:00.000501Z', amount: 4 }],
        ['2024-04-01T00:00:00.000500Z', '2024-04-01T00:00:00.000501Z'],
      );
      expect(result).toEqual([one(4), none]);
    });
  },
);

describe.each(['asof', 'merge-window'] as const)(
  'point-in-time TTL edges at microsecond precision (%s strategy)',
  (strategy) => {
    const t = '2024-04-01T00:00:00.000500Z';
    async function amountAt(eventTs: string, entityTime = t) {
      const fixture = await offlineFixture([customer, orders, lastOrder], strategy);
      await fixture.ingest('orders', [{ customer_id: 'C1', event_ts: eventTs, amount: 9 }]);
      const result = await fixture.trainingSet(
        [{ customer_id: 'C1', event_timestamp: entityTime }],
        { request: { features: ['last_order:amount'] } },
      );
      return result.records?.[0];
    }

    it('keeps a row at t - TTL + 1µs and at exactly t - TTL, drops one at t - TTL - 1µs', async () => {
      expect((await amountAt('2024-03-31T23:00:00.000501Z'))?.amount).toBe(9);
      expect((await amountAt('2024-03-31T23:00:00.000500Z'))?.amount).toBe(9);
      expect((await amountAt('2024-03-31T23:00:00.000499Z'))?.amount).toBeNull();
    });

    it('drops a row 1µs after the entity time and keeps one at it', async () => {
      expect((await amountAt('2024-04-01T00:00:00.000501Z'))?.amount).toBeNull();
      expect((await amountAt('2024-04-01T00:00:00.000500Z'))?.amount).toBe(9);
    });

    it('writes microseconds to a CSV training set', async () => {
      const fixture = await offlineFixture([customer, orders, lastOrder], strategy);
      await fixture.ingest('orders', [
        { customer_id: 'C1', event_ts: '2024-04-01T00:00:00.000300Z', amount: 9 },
      ]);
      const out = path.join(fixture.dataDir, 'train.csv');
      await fixture.trainingSet([{ customer_id: 'C1', event_timestamp: t }], {
        request: { features: ['last_order:amount'] },
        out,
      });
      expect((await readFile(out, 'utf8')).trim().split('\n')).toEqual([
        'customer_id,event_timestamp,amount',
        'C1,2024-04-01T00:00:00.000500Z,9.0',
      ]);
    });

    it('returns the entity timestamp with its microseconds', async () => {
      const row = await amountAt('2024-04-01T00:00:00.000300Z', '2024-04-01T02:00:00.000500+02:00');
      expect(row?.event_timestamp).toBe('2024-04-01 00:00:00.0005');
      expect(row?.amount).toBe(9);
    });
  },
);
