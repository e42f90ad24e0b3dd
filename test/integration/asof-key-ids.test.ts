import { describe, expect, it } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../lib/definitions/index.ts';
import { Prng } from '../../lib/demo/prng.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const product = defineEntity({
  name: 'product',
  joinKeys: [{ name: 'product_id', type: 'string' }],
});
const store = defineEntity({ name: 'store', joinKeys: [{ name: 'store_id', type: 'int64' }] });
const orders = defineSource({
  name: 'orders',
  schema: {
    customer_id: 'string',
    product_id: 'string',
    store_id: 'int64',
    amount: 'int64',
    event_ts: 'timestamp',
  },
  timestampField: 'event_ts',
});
const byCustomer = defineFeatureView({
  name: 'by_customer',
  entities: [customer],
  source: orders,
  features: { amount: 'int64' },
  ttl: '1d',
});
const byPair = defineFeatureView({
  name: 'by_pair',
  entities: [customer, product],
  source: orders,
  features: { amount: 'int64' },
});
const byStore = defineFeatureView({
  name: 'by_store',
  entities: [store],
  source: orders,
  features: { amount: 'int64' },
  ttl: '2d',
});

type Order = {
  customer_id: string;
  product_id: string;
  store_id: number;
  amount: number;
  event_ts: string;
};

const start = Date.UTC(2026, 2, 1);
const hour = 3_600_000;
const at = (ms: number) => new Date(ms).toISOString();

/** DESIGN.md section 3 for one source ingested once: the latest row in the window, ties to the row ingested last. */
function reference(
  rows: readonly Order[],
  matches: (row: Order) => boolean,
  t: number,
  ttlMs: number | undefined,
): number | null {
  let winner: Order | undefined;
  for (const row of rows) {
    const time = Date.parse(row.event_ts);
    if (!matches(row) || time > t || (ttlMs !== undefined && time < t - ttlMs)) continue;
    if (!winner || time >= Date.parse(winner.event_ts)) winner = row;
  }
  return winner?.amount ?? null;
}

describe('ASOF join on dense key ids', () => {
  it('joins each key set on one whole-number id, not on the key columns', async () => {
    const fixture = await offlineFixture([byCustomer, byPair, byStore]);
    await fixture.ingest('orders', [
      { customer_id: 'C1', product_id: 'P1', store_id: 1, amount: 1, event_ts: at(start) },
    ]);
    const run = await fixture.trainingSet(
      [{ customer_id: 'C1', product_id: 'P1', store_id: 1, event_timestamp: at(start + hour) }],
      {
        request: { features: ['by_customer:amount', 'by_pair:amount', 'by_store:amount'] },
        fullFeatureNames: true,
        strategy: 'asof',
      },
    );
    expect(run.sql).toContain('e.fstore_key_0 = "f0".fstore_key_0');
    expect(run.sql).toContain('e.fstore_key_1 = "f1".fstore_key_1');
    expect(run.sql).toContain('e.fstore_key_2 = "f2".fstore_key_2');
    expect(run.sql).not.toMatch(/e\."customer_id" = "f\d"\."customer_id"/);
    expect(run.records?.[0]).toMatchObject({
      by_customer__amount: 1,
      by_pair__amount: 1,
      by_store__amount: 1,
    });
  });

  it.each([1, 2, 3])(
    'gives the reference values for one-key, two-key and int64-key views, NULL and unknown keys, ties included (seed %i)',
    async (seed) => {
      const prng = new Prng(seed, 16);
      const customers = ['C1', 'C2', 'C3', 'C4', 'C5'];
      const products = ['P1', 'P2', 'P3'];
      const rows: Order[] = Array.from({ length: 300 }, () => ({
        customer_id: prng.pick(customers),
        product_id: prng.pick(products),
        store_id: prng.pick([7, 8, 2 ** 40]),
        amount: prng.int(0, 1_000_000),
        // Whole hours over six days: many rows share a key and an event time (ties).
        event_ts: at(start + prng.int(0, 6 * 24) * hour),
      }));
      const fixture = await offlineFixture([byCustomer, byPair, byStore]);
      await fixture.ingest('orders', rows);
      const entities = Array.from({ length: 120 }, () => ({
        customer_id: prng.chance(0.1) ? null : prng.pick([...customers, 'C9']),
        product_id: prng.pick([...products, 'P9']),
        store_id: prng.pick([7, 8, 9, 2 ** 40]),
        event_timestamp: at(start + prng.int(-12, 7 * 24) * hour + prng.pick([0, 1, 1800_000])),
      }));
      const request = {
        features: ['by_customer:amount', 'by_pair:amount', 'by_store:amount'],
      };
      const expected = entities.map((e) => {
        const t = Date.parse(e.event_timestamp);
        return {
          by_customer__amount: reference(
            rows,
            (r) => r.customer_id === e.customer_id,
            t,
            24 * hour,
          ),
          by_pair__amount: reference(
            rows,
            (r) => r.customer_id === e.customer_id && r.product_id === e.product_id,
            t,
            undefined,
          ),
          by_store__amount: reference(rows, (r) => r.store_id === e.store_id, t, 48 * hour),
        };
      });
      for (const strategy of ['asof', 'merge-window'] as const) {
        const run = await fixture.trainingSet(entities, {
          request,
          fullFeatureNames: true,
          strategy,
        });
        const values = run.records?.map((r) => ({
          by_customer__amount: r.by_customer__amount,
          by_pair__amount: r.by_pair__amount,
          by_store__amount: r.by_store__amount,
        }));
        expect(values, strategy).toEqual(expected);
      }
    },
  );
});
