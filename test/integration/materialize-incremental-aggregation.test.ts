import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineAggregationView, defineEntity, defineSource } from '../../lib/definitions/index.ts';
import { Prng } from '../../lib/demo/prng.ts';
import { startDynalite } from '../../lib/local/dynalite-server.ts';
import { materializeLocal } from '../../lib/local/materialize-local.ts';
import { lookupFeatures } from '../../lib/online/online-lookup.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';
import { countingClient, scanEntityItems } from '../helpers/online-items.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const orders = defineSource({
  name: 'orders',
  schema: {
    customer_id: 'string',
    amount: 'float64',
    category: 'string',
    event_ts: 'timestamp',
    created_ts: 'timestamp',
  },
  timestampField: 'event_ts',
  createdTimestampField: 'created_ts',
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
const counts = defineAggregationView({
  name: 'order_counts',
  entities: [customer],
  source: orders,
  aggregations: { amount: { functions: ['count', 'sum'], windows: ['7d', '30d'] } },
  online: true,
  schedule: 'rate(1 hour)',
});

const hour = 3_600_000;
const day = 24 * hour;
const m = Date.parse('2026-03-01T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const ids = Array.from({ length: 100 }, (_, i) => `C${String(i).padStart(3, '0')}`);
type Row = Record<string, unknown>;

function rows(prng: Prng, count: number, from: number, to: number, earlier: readonly Row[]): Row[] {
  return Array.from({ length: count }, () => {
    // A quarter copy an earlier row's key and times: ties that created time and ingestion decide.
    const tie =
      earlier.length > 0 && prng.next() < 0.25
        ? earlier[prng.int(0, earlier.length - 1)]
        : undefined;
    const ts = tie
      ? Date.parse(tie.event_ts as string)
      : from + Math.floor(prng.next() * (to - from));
    return {
      customer_id: tie?.customer_id ?? ids[prng.int(0, ids.length - 1)],
      amount: prng.next() < 0.1 ? null : Math.round(prng.next() * 10_000) / 100,
      category: ['a', 'b', 'c'][prng.int(0, 2)],
      event_ts: iso(ts),
      created_ts: tie ? tie.created_ts : iso(ts),
    };
  });
}

/** Entities whose 7d/30d count or sum at `until` can differ from the one at `after`. */
function changedEntities(all: readonly Row[], fresh: readonly Row[], after: number, until: number) {
  const changed = new Set<unknown>();
  const t = (r: Row) => Date.parse(r.event_ts as string);
  for (const r of fresh) if (t(r) > until - 30 * day && t(r) <= until) changed.add(r.customer_id);
  for (const r of all)
    for (const w of [7 * day, 30 * day, 0])
      if (t(r) > after - w && t(r) <= until - w) changed.add(r.customer_id);
  return changed;
}

describe('incremental materialization of aggregation views (DuckDB + dynalite)', () => {
  let server: Awaited<ReturnType<typeof startDynalite>>;
  let client: ReturnType<typeof localDynamoClient>;
  let tables = 0;
  const newTable = async () => {
    const table = `fstore-agg-inc${tables++}`;
    await ensureLocalTable(client, table);
    return table;
  };
  beforeAll(async () => {
    server = await startDynalite();
    client = localDynamoClient(server.endpoint);
  });
  afterAll(async () => {
    client.destroy();
    await server.close();
  });

  it('refreshes exactly the entities whose windows changed, and agrees with a full rematerialization and the offline values', async () => {
    const fixture = await offlineFixture([customer, orders, stats, counts]);
    const prng = new Prng(21);
    const all: Row[] = [];
    const ingest = async (batch: Row[]) => {
      all.push(...batch);
      await fixture.ingest('orders', batch);
    };
    const run = (
      table: string,
      at: number,
      extra: Partial<Parameters<typeof materializeLocal>[0]> = {},
    ) =>
      materializeLocal({
        registry: fixture.registry,
        dataDir: fixture.dataDir,
        env: 'local',
        client,
        table,
        now: () => at,
        chunkRows: 20,
        ...extra,
      });
    // Feature values only: an entity left alone keeps the event time of the run that wrote it.
    const values = async (table: string) =>
      (await scanEntityItems(client, table, ['materialized_at', 'event_ts'])).map((i) => [
        i.pk,
        i.f,
      ]);
    const expectSameAsFullRunAt = async (table: string, at: number) => {
      const full = await newTable();
      await run(full, at);
      expect(await values(table)).toEqual(await values(full));
    };

    await ingest(rows(prng, 400, m - 45 * day, m + 2 * day, []));
    const table = await newTable();
    await run(table, m);
    await expectSameAsFullRunAt(table, m);

    // One hour on: a late batch (ties included) and rows that came due or left a window.
    const late = rows(prng, 8, m - 40 * day, m, all);
    await ingest(late);
    const before = [...all];
    const step = await run(table, m + hour);
    const stepStats = step.find((r) => r.view === 'order_stats');
    const stepCounts = step.find((r) => r.view === 'order_counts');
    const expected = changedEntities(before, late, m, m + hour);
    expect(stepCounts?.scope).toEqual({ kind: 'incremental', newIngests: 1, newIngestRows: 8 });
    expect(stepCounts?.counts.rowsRead).toBe(expected.size);
    expect(stepCounts?.counts.written).toBe(expected.size);
    expect(expected.size).toBeLessThan(40);
    // days_since_last ages every entity with a row in its window.
    expect(stepStats?.counts.rowsRead).toBeGreaterThan(expected.size);
    await expectSameAsFullRunAt(table, m + hour);

    // Ten days on, nothing ingested: 7-day values decayed; then a crash and its resumption.
    await run(table, m + 10 * day);
    await expectSameAsFullRunAt(table, m + 10 * day);
    await ingest(rows(prng, 30, m + 5 * day, m + 10 * day, all));
    const failing = countingClient(client, { failPutsAfter: 25 });
    await expect(run(table, m + 10 * day + hour, { client: failing.client })).rejects.toThrow(
      'injected crash',
    );
    const resumed = await run(table, m + 10 * day + 2 * hour);
    expect(resumed.map((r) => r.resumed)).toContain(true);
    await expectSameAsFullRunAt(table, m + 10 * day + hour);

    const at = m + 10 * day + hour;
    const features = [stats, counts].flatMap((v) => v.features.map((f) => `${v.name}__${f.name}`));
    const online = await lookupFeatures(
      client,
      table,
      fixture.registry,
      {
        views: [stats, counts].map((v) => ({
          view: v.name,
          features: v.features.map((f) => ({
            feature: f.name,
            outputName: `${v.name}__${f.name}`,
          })),
        })),
        entities: ids.map((customer_id) => ({ customer_id })),
      },
      { now: () => at },
    );
    const offline = await fixture.trainingSet(
      ids.map((customer_id) => ({ customer_id, event_timestamp: iso(at) })),
      {
        request: {
          features: [
            ...stats.features.map((f) => `order_stats:${f.name}`),
            ...counts.features.map((f) => `order_counts:${f.name}`),
          ],
        },
        fullFeatureNames: true,
      },
    );
    ids.forEach((id, index) => {
      for (const feature of features) {
        const want = offline.records?.[index]?.[feature] ?? null;
        const got = online[index]?.[feature]?.value ?? null;
        expect(got, `${id} ${feature}`).toEqual(want);
      }
    });
  });
});
