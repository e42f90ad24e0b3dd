import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineAggregationView, defineEntity, defineSource } from '../../lib/definitions/index.ts';
import { Prng } from '../../lib/demo/prng.ts';
import { startDynalite } from '../../lib/local/dynalite-server.ts';
import { materializeLocal } from '../../lib/local/materialize-local.ts';
import { lookupFeatures } from '../../lib/online/online-lookup.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const orders = defineSource({
  name: 'orders',
  schema: { customer_id: 'string', amount: 'float64', category: 'string', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const stats = defineAggregationView({
  name: 'order_stats',
  entities: [customer],
  source: orders,
  aggregations: {
    amount: {
      functions: ['sum', 'count', 'avg', 'max', 'last', 'days_since_last'],
      windows: ['7d', '30d'],
    },
    category: { functions: ['count_distinct'], windows: ['30d'] },
  },
  online: true,
  schedule: 'rate(1 hour)',
});

const day = 86_400_000;
const m = Date.parse('2026-03-01T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const ids = Array.from({ length: 120 }, (_, i) => `C${String(i).padStart(3, '0')}`);

function generated() {
  const prng = new Prng(5);
  const rows: Record<string, unknown>[] = [];
  for (const id of ids.slice(0, 100))
    for (let i = prng.int(0, 8); i > 0; i--)
      rows.push({
        customer_id: id,
        amount: Math.round(prng.next() * 10_000) / 100,
        category: ['a', 'b', 'c'][prng.int(0, 2)],
        event_ts: iso(m - 45 * day + Math.floor(prng.next() * 46 * day)),
      });
  return rows;
}

// Offline values by each of the three ways DuckDB computes a window (see aggregation.test.ts).
const modes = [
  { mode: 'range join', strategy: 'asof', aggregations: 'range-join' },
  { mode: 'running totals', strategy: 'asof', aggregations: 'running-totals' },
  { mode: 'window form', strategy: 'merge-window', aggregations: 'range-join' },
] as const;

describe('aggregation views online: materialized at m equals offline at t = m by range join, by running totals and by the window form (DuckDB + dynalite)', () => {
  let server: Awaited<ReturnType<typeof startDynalite>>;
  let client: ReturnType<typeof localDynamoClient>;
  beforeAll(async () => {
    server = await startDynalite();
    client = localDynamoClient(server.endpoint);
  });
  afterAll(async () => {
    client.destroy();
    await server.close();
  });

  it('agrees for every entity after the first run, after values decay, and after late rows', async () => {
    const fixture = await offlineFixture([customer, orders, stats]);
    await fixture.ingest('orders', generated());
    const table = 'fstore-agg-online';
    await ensureLocalTable(client, table);
    const features = stats.features.map((f) => f.name);
    const materializeAt = (at: number) =>
      materializeLocal({
        registry: fixture.registry,
        dataDir: fixture.dataDir,
        env: 'local',
        client,
        table,
        now: () => at,
      });
    const expectConsistentAt = async (at: number) => {
      const online = await lookupFeatures(
        client,
        table,
        fixture.registry,
        {
          views: [
            { view: 'order_stats', features: features.map((f) => ({ feature: f, outputName: f })) },
          ],
          entities: ids.map((customer_id) => ({ customer_id })),
        },
        { now: () => at },
      );
      for (const { mode, strategy, aggregations } of modes) {
        const offline = await fixture.trainingSet(
          ids.map((customer_id) => ({ customer_id, event_timestamp: iso(at) })),
          {
            request: { features: features.map((f) => `order_stats:${f}`) },
            strategy,
            aggregations,
          },
        );
        expect(offline.sql.includes('_running_totals'), mode).toBe(mode === 'running totals');
        expect(offline.sql.includes('RANGE BETWEEN'), mode).toBe(mode === 'window form');
        ids.forEach((id, index) => {
          for (const feature of features) {
            const want = offline.records?.[index]?.[feature] ?? null;
            const got = online[index]?.[feature]?.value ?? null;
            const where = `${id} ${feature} at ${iso(at)} (${mode})`;
            // Bit for bit: float sums and averages are the correctly rounded exact sum everywhere.
            if (typeof want === 'number' && typeof got === 'number')
              expect(Object.is(got, want), `${where}: ${got} vs ${want}`).toBe(true);
            else expect(got, where).toEqual(want);
          }
        });
      }
      return online;
    };

    const [first] = await materializeAt(m);
    expect(first?.status).toBe('succeeded');
    const atM = await expectConsistentAt(m);
    expect(atM.filter((r) => (r.amount_count_7d?.value as number) > 0).length).toBeGreaterThan(10);
    expect(atM[0]?.amount_sum_30d?.event_timestamp).toBe(iso(m).replace('Z', '000Z'));

    // Ten days on with no new rows: 7-day values must have decayed, not frozen.
    const later = m + 10 * day;
    const [second] = await materializeAt(later);
    expect(second?.counts.written).toBeGreaterThan(0);
    const atLater = await expectConsistentAt(later);
    expect(atLater.every((r) => r.amount_count_7d?.value === 0)).toBe(true);

    // A late row inside the allowed lateness (1 hour) is picked up by the next run.
    await fixture.ingest('orders', [
      { customer_id: 'C005', amount: 1000, category: 'z', event_ts: iso(later - 30 * 60_000) },
    ]);
    await materializeAt(later + 3_600_000);
    const afterLate = await expectConsistentAt(later + 3_600_000);
    expect(afterLate[5]?.amount_max_7d?.value).toBe(1000);
  });
});
