import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  defineAggregationView,
  defineEntity,
  defineFeatureView,
  defineSource,
} from '../../lib/definitions/index.ts';
import { compactStore } from '../../lib/offline/compact.ts';
import { openDuckdb, queryRows } from '../../lib/offline/duckdb-session.ts';
import { ingestFile } from '../../lib/offline/ingest.ts';
import {
  findIngestLeftovers,
  removeLeftoversWhileLocked,
} from '../../lib/offline/ingest-leftovers.ts';
import {
  type IngestRecord,
  parseManifest,
  readManifestState,
} from '../../lib/offline/ingest-manifest.ts';
import { ingestManifestPath, offlineRoot } from '../../lib/offline/local-layout.ts';
import { ensureRunningTotals, runningTotalsView } from '../../lib/offline/running-totals.ts';
import { compileRegistry } from '../../lib/registry/index.ts';
import { duckdbDialect } from '../../lib/sql/duckdb-dialect.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';
import { seededRandom as random } from '../helpers/seeded-random.ts';

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
const latest = defineFeatureView({
  name: 'latest_order',
  entities: [customer],
  source: orders,
  features: { amount: 'float64', category: 'string' },
  ttl: '3d',
});
const stats = defineAggregationView({
  name: 'order_stats',
  entities: [customer],
  source: orders,
  aggregations: {
    amount: { functions: ['sum', 'count', 'avg', 'last'], windows: ['1d', '7d'] },
    category: { functions: ['count', 'last'], windows: ['7d'] },
  },
});

const t0 = Date.parse('2026-03-01T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * One ingest's rows over six days, on the hour, so rows of different ingests tie on event time,
 * and on created time too (decided by ingest order alone); about one value in eight is NULL.
 */
function batch(seed: number, count: number): Record<string, unknown>[] {
  const next = random(seed);
  return Array.from({ length: count }, () => {
    const event = t0 + Math.floor(next() * 6 * 24) * 3_600_000;
    return {
      customer_id: `C${Math.floor(next() * 12)}`,
      amount: next() < 0.125 ? null : Math.round(next() * 100_000) / 100,
      category: next() < 0.125 ? null : ['a', 'b', 'c'][Math.floor(next() * 3)],
      event_ts: iso(event),
      created_ts: iso(event + (next() < 0.5 ? 0 : 60_000)),
    };
  });
}

const entityRows = Array.from({ length: 12 * 16 }, (_, i) => ({
  customer_id: `C${i % 12}`,
  event_timestamp: iso(t0 + Math.floor(i / 12) * 9 * 3_600_000 + 1_800_000),
}));

async function dataFiles(dataDir: string): Promise<string[]> {
  const sourceDir = path.join(offlineRoot(dataDir, 'local'), 'orders');
  const files: string[] = [];
  for (const partition of await readdir(sourceDir))
    for (const name of await readdir(path.join(sourceDir, partition)))
      files.push(`${partition}/${name}`);
  return files.sort();
}

/** The running totals of order_stats as text, every value printed so that bits tell apart. */
async function totalsText(dataDir: string, registry: Parameters<typeof runningTotalsView>[0]) {
  const root = offlineRoot(dataDir, 'local');
  const view = runningTotalsView(registry, 'order_stats');
  if (!view) throw new Error('order_stats has no running totals');
  const session = await openDuckdb();
  try {
    const totals = await ensureRunningTotals(session.connection, root, duckdbDialect(root), view);
    if (!totals) throw new Error('no totals');
    const rows = await queryRows(
      session.connection,
      `SELECT * FROM ${totals.relation} ORDER BY ALL`,
    );
    return { rows: JSON.stringify(rows), build: totals.build };
  } finally {
    session.close();
  }
}

const manifestRecords = async (dataDir: string) =>
  parseManifest(await readFile(ingestManifestPath(dataDir, 'local'), 'utf8'));

describe('fstore compact (local store)', () => {
  it('merges each partition into one file and leaves every training set, running total and ingest record exactly as before', async () => {
    const fixture = await offlineFixture([customer, orders, latest, stats]);
    const { registry, dataDir } = fixture;
    for (const seed of [1, 2, 3, 4]) await fixture.ingest('orders', batch(seed, 400));
    const before = await dataFiles(dataDir);
    const partitions = new Set(before.map((f) => f.split('/')[0]));
    expect(partitions.size).toBe(6);
    expect(before).toHaveLength(4 * 6);

    const request = { request: { features: ['latest_order:*', 'order_stats:*'] } };
    const rangeJoin = await fixture.trainingSet(entityRows, {
      ...request,
      aggregations: 'range-join',
    });
    const fromTotals = await fixture.trainingSet(entityRows, {
      ...request,
      aggregations: 'running-totals',
    });
    expect(fromTotals.runningTotals).toEqual(['order_stats']);
    const totals = await totalsText(dataDir, registry);
    const records = await manifestRecords(dataDir);

    const result = await compactStore({ registry, dataDir, env: 'local', keepReplacedMs: 0 });

    const after = await dataFiles(dataDir);
    expect(after).toHaveLength(6);
    expect(after.every((f) => f.split('/')[1]?.startsWith(`${result.compactionId}-`))).toBe(true);
    expect(result.sources).toEqual([
      expect.objectContaining({ source: 'orders', partitions: 6, filesBefore: 24, filesAfter: 6 }),
    ]);
    // The totals covered files that are gone: rebuilt in full, right after the commit.
    expect(result.sources[0]?.runningTotals).toEqual([
      { view: 'order_stats', build: expect.objectContaining({ kind: 'full' }) },
    ]);
    const compacted = await manifestRecords(dataDir);
    const identity = ({ files: _files, ...rest }: IngestRecord) => rest;
    expect(compacted.map(identity)).toEqual(records.map(identity));
    for (const record of compacted)
      expect(record.files?.every((f) => f.includes(`/${result.compactionId}-`))).toBe(true);

    expect(
      await fixture.trainingSet(entityRows, { ...request, aggregations: 'range-join' }),
    ).toEqual(expect.objectContaining({ records: rangeJoin.records }));
    expect(
      (await fixture.trainingSet(entityRows, { ...request, aggregations: 'running-totals' }))
        .records,
    ).toEqual(fromTotals.records);
    expect((await totalsText(dataDir, registry)).rows).toBe(totals.rows);
    expect((await findIngestLeftovers(offlineRoot(dataDir, 'local'))).leftovers).toEqual([]);
  }, 180_000);

  it('keeps ingest order among rows tied on event and created time, so the last ingested row still wins', async () => {
    const fixture = await offlineFixture([customer, orders, latest, stats]);
    const tied = (amount: number) => [
      {
        customer_id: 'C1',
        amount,
        category: 'a',
        event_ts: '2026-03-01T10:00:00Z',
        created_ts: '2026-03-01T10:00:00Z',
      },
    ];
    // Ingest ids sort by time and a random part, so file names do not tell ingest order.
    for (const amount of [1, 2, 3, 4, 5, 6]) await fixture.ingest('orders', tied(amount));
    const entity = [{ customer_id: 'C1', event_timestamp: '2026-03-01T12:00:00Z' }];
    const request = { request: { features: ['latest_order:amount'] } };
    expect((await fixture.trainingSet(entity, request)).records?.[0]?.amount).toBe(6);
    await compactStore({
      registry: fixture.registry,
      dataDir: fixture.dataDir,
      env: 'local',
      keepReplacedMs: 0,
    });
    expect(await dataFiles(fixture.dataDir)).toHaveLength(1);
    expect((await fixture.trainingSet(entity, request)).records?.[0]?.amount).toBe(6);
  }, 120_000);

  it('plans without writing on a dry run, and finds nothing to do once compacted', async () => {
    const fixture = await offlineFixture([customer, orders, latest, stats]);
    for (const seed of [5, 6]) await fixture.ingest('orders', batch(seed, 50));
    const options = { registry: fixture.registry, dataDir: fixture.dataDir, env: 'local' };
    const files = await dataFiles(fixture.dataDir);
    const planned = await compactStore({ ...options, dryRun: true });
    expect(planned.sources[0]).toEqual(
      expect.objectContaining({ partitions: 6, filesBefore: 12, filesAfter: 6 }),
    );
    expect(planned.compactionId).toBeUndefined();
    expect(await dataFiles(fixture.dataDir)).toEqual(files);
    await compactStore(options);
    const again = await compactStore(options);
    expect(again.compactionId).toBeUndefined();
    expect(again.sources[0]).toEqual(expect.objectContaining({ partitions: 0, filesAfter: 6 }));
  }, 120_000);

  it('merges files only with files whose list columns have the same name, so a renamed list column does not fail every merge', async () => {
    const source = (listColumn: string) =>
      defineSource({
        name: 'events',
        schema: { customer_id: 'string', [listColumn]: 'list<string>', event_ts: 'timestamp' },
        timestampField: 'event_ts',
      });
    const definitions = (listColumn: string) => {
      const events = source(listColumn);
      const view = defineFeatureView({
        name: 'latest_event',
        entities: [customer],
        source: events,
        features: { [listColumn]: 'list<string>' },
      });
      return [customer, events, view];
    };
    const before = await offlineFixture(definitions('tags'));
    const after = compileRegistry(definitions('labels').map((definition) => ({ definition })));
    const rows = (listColumn: string, n: number) =>
      Array.from({ length: 3 }, (_, i) => ({
        customer_id: `C${i}`,
        [listColumn]: [`${listColumn}-${n}`, 'x'],
        event_ts: '2026-03-01T10:00:00Z',
      }));
    for (const n of [1, 2]) await before.ingest('events', rows('tags', n));
    for (const n of [3, 4])
      await ingestFile({
        registry: after,
        dataDir: before.dataDir,
        env: 'local',
        source: 'events',
        file: await before.writeJsonl(rows('labels', n)),
      });
    const root = offlineRoot(before.dataDir, 'local');
    const files = async () =>
      (await readdir(path.join(root, 'events', 'dt=2026-03-01'))).filter((f) =>
        f.endsWith('.parquet'),
      );
    expect(await files()).toHaveLength(4);
    const read = async () => {
      const session = await openDuckdb();
      try {
        return await queryRows(
          session.connection,
          `SELECT customer_id, tags, labels, fstore_seq FROM ${duckdbDialect(root).sourceRelation('events')} ORDER BY fstore_seq`,
        );
      } finally {
        session.close();
      }
    };
    const stored = await read();

    const result = await compactStore({
      registry: after,
      dataDir: before.dataDir,
      env: 'local',
      keepReplacedMs: 0,
    });
    expect(result.sources).toEqual([
      expect.objectContaining({ source: 'events', filesBefore: 4, filesAfter: 2 }),
    ]);
    expect(await files()).toHaveLength(2);
    expect(await read()).toEqual(stored);
  }, 120_000);

  it('keeps the replaced files for their time, then the next ingest, or doctor --fix, deletes them and forgets them', async () => {
    const fixture = await offlineFixture([customer, orders, latest]);
    const root = offlineRoot(fixture.dataDir, 'local');
    const options = { registry: fixture.registry, dataDir: fixture.dataDir, env: 'local' };
    const request = { request: { features: ['latest_order:*'] } };
    const keptFiles = async () =>
      ((await readManifestState(root))?.replaced ?? []).flatMap((e) => e.files).sort();
    for (const seed of [7, 8]) await fixture.ingest('orders', batch(seed, 60));
    const first = await dataFiles(fixture.dataDir);

    const compacted = await compactStore({ ...options, keepReplacedMs: 1000 });
    expect(Date.parse(compacted.replacedKeptUntil ?? '')).toBeGreaterThan(Date.now());
    expect(await keptFiles()).toEqual(first.map((f) => `orders/${f}`));
    expect(await dataFiles(fixture.dataDir)).toHaveLength(first.length + 6);
    expect((await findIngestLeftovers(root)).leftovers).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await fixture.ingest('orders', batch(9, 60));
    expect(await keptFiles()).toEqual([]);
    expect(await dataFiles(fixture.dataDir)).toHaveLength(6 + 6);
    const expected = (await fixture.trainingSet(entityRows, request)).records;

    await compactStore({ ...options, keepReplacedMs: 1000 });
    expect(await keptFiles()).toHaveLength(12);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const removed = await removeLeftoversWhileLocked(root);
    expect(removed.map((l) => l.kind)).toEqual(Array(12).fill('superseded data file'));
    expect(await keptFiles()).toEqual([]);
    expect(await dataFiles(fixture.dataDir)).toHaveLength(6);
    expect((await fixture.trainingSet(entityRows, request)).records).toEqual(expected);
  }, 120_000);

  it('refuses an unknown source, naming the known ones', async () => {
    const fixture = await offlineFixture([customer, orders, latest]);
    await expect(
      compactStore({
        registry: fixture.registry,
        dataDir: fixture.dataDir,
        env: 'local',
        source: 'order',
      }),
    ).rejects.toThrow(/no source "order" in the registry/);
  });
});
