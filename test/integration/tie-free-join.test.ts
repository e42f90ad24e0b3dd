import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../lib/definitions/index.ts';
import { compactStore } from '../../lib/offline/compact.ts';
import { manifestPath, parseManifest } from '../../lib/offline/ingest-manifest.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const product = defineEntity({
  name: 'product',
  joinKeys: [{ name: 'product_id', type: 'string' }],
});
const orders = defineSource({
  name: 'orders',
  schema: { customer_id: 'string', product_id: 'string', amount: 'int64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const byCustomer = defineFeatureView({
  name: 'by_customer',
  entities: [customer],
  source: orders,
  features: { amount: 'int64' },
});
const byPair = defineFeatureView({
  name: 'by_pair',
  entities: [customer, product],
  source: orders,
  features: { amount: 'int64' },
});

const keys = Array.from({ length: 40 }, (_, i) => `C${String(i).padStart(2, '0')}`);
/** One row per key at `time`, each key's amount `amount + its index`; on 2026-03-02 and 03-03. */
const rowsAt = (time: string, amount: number, productId = 'P1') =>
  keys.map((customer_id, i) => ({
    customer_id,
    product_id: productId,
    amount: amount + i,
    event_ts: time,
  }));
const spread = (amount: number) => [
  ...rowsAt('2026-03-02T10:00:00Z', amount),
  ...rowsAt('2026-03-03T10:00:00.000001Z', amount + 1000),
];

async function records(dataDir: string) {
  return parseManifest(await readFile(manifestPath(offlineRoot(dataDir, 'local')), 'utf8'));
}

/** Whether the rendered ASOF join of view `index` compares the event time alone (no tie-break). */
const joinsOnTimeAlone = (sql: string, index: number) =>
  sql.includes(`"f${index}".fstore_event_ts`) && !sql.includes(`"f${index}".fstore_pos`);

const entityRows = (time: string) =>
  keys.map((customer_id) => ({ customer_id, product_id: 'P1', event_timestamp: time }));

describe('point-in-time join without a tie-break where the source has no ties', () => {
  it('records, per ingest, the key sets of the views in which its rows bring no tie', async () => {
    const fixture = await offlineFixture([byCustomer, byPair]);
    await fixture.ingest('orders', spread(0));
    const [record] = await records(fixture.dataDir);
    expect(record?.uniqueKeyTimes).toEqual(
      expect.arrayContaining([
        { keys: ['customer_id'], time: 'event_ts' },
        { keys: ['customer_id', 'product_id'], time: 'event_ts' },
      ]),
    );
    expect(record?.uniqueKeyTimes).toHaveLength(2);
  });

  it('records only the key set still without ties when two rows share a customer and time but not a product', async () => {
    const fixture = await offlineFixture([byCustomer, byPair]);
    await fixture.ingest('orders', [
      ...spread(0),
      { customer_id: 'C00', product_id: 'P2', amount: 7, event_ts: '2026-03-02T10:00:00Z' },
    ]);
    const [record] = await records(fixture.dataDir);
    expect(record?.uniqueKeyTimes).toEqual([
      { keys: ['customer_id', 'product_id'], time: 'event_ts' },
    ]);
    const run = await fixture.trainingSet(entityRows('2026-03-02T12:00:00Z'), {
      request: { features: ['by_customer:amount', 'by_pair:amount'] },
      fullFeatureNames: true,
    });
    expect(joinsOnTimeAlone(run.sql, 0)).toBe(false);
    expect(joinsOnTimeAlone(run.sql, 1)).toBe(true);
    // The tie of C00 goes to the row ingested last (fstore_seq), the pair's to its own row.
    expect(run.records?.[0]).toMatchObject({ by_customer__amount: 7, by_pair__amount: 0 });
  });

  it.each([
    ['earliest', '2026-03-02T10:00:00.000001Z'],
    ['latest', '2026-03-02T10:00:00.999999Z'],
  ])(
    'finds a tie with a committed row at the %s event time of the new rows, to the microsecond',
    async (_, tieTime) => {
      const fixture = await offlineFixture([byCustomer]);
      await fixture.ingest('orders', [
        ...rowsAt('2026-03-02T10:00:00Z', 0),
        ...rowsAt(tieTime, 100),
        ...rowsAt('2026-03-02T10:00:01Z', 200),
      ]);
      await fixture.ingest('orders', [
        {
          customer_id: 'C00',
          product_id: 'P1',
          amount: 1,
          event_ts: '2026-03-02T10:00:00.000001Z',
        },
        {
          customer_id: 'C01',
          product_id: 'P1',
          amount: 2,
          event_ts: '2026-03-02T10:00:00.999999Z',
        },
      ]);
      expect((await records(fixture.dataDir)).map((r) => r.uniqueKeyTimes)).toEqual([
        [{ keys: ['customer_id'], time: 'event_ts' }],
        undefined,
      ]);
    },
  );

  it('joins a source whose every ingest is tie-free on the event time alone, with the same values', async () => {
    const fixture = await offlineFixture([byCustomer]);
    await fixture.ingest('orders', spread(0));
    // A second ingest on the same days, one microsecond apart from the first's rows.
    await fixture.ingest('orders', [
      ...rowsAt('2026-03-02T10:00:00.000001Z', 100),
      ...rowsAt('2026-03-03T10:00:00Z', 200),
    ]);
    expect((await records(fixture.dataDir)).map((r) => r.uniqueKeyTimes)).toEqual([
      [{ keys: ['customer_id'], time: 'event_ts' }],
      [{ keys: ['customer_id'], time: 'event_ts' }],
    ]);
    const run = await fixture.trainingSet(entityRows('2026-03-03T10:00:00.000001Z'), {
      request: { features: ['by_customer:amount'] },
    });
    expect(joinsOnTimeAlone(run.sql, 0)).toBe(true);
    expect(run.records?.map((r) => r.amount)).toEqual(keys.map((_, i) => 1000 + i));
  });

  it('breaks ties that a later ingest brings into a tie-free source by the row ingested last', async () => {
    const fixture = await offlineFixture([byCustomer]);
    await fixture.ingest('orders', spread(0));
    // Every key gets a second row at the same time as its first: a tie per key.
    await fixture.ingest('orders', rowsAt('2026-03-02T10:00:00Z', 500));
    const [first, second] = await records(fixture.dataDir);
    expect(first?.uniqueKeyTimes).toEqual([{ keys: ['customer_id'], time: 'event_ts' }]);
    expect(second?.uniqueKeyTimes).toBeUndefined();
    const run = await fixture.trainingSet(entityRows('2026-03-02T12:00:00Z'), {
      request: { features: ['by_customer:amount'] },
    });
    expect(joinsOnTimeAlone(run.sql, 0)).toBe(false);
    expect(run.records?.map((r) => r.amount)).toEqual(keys.map((_, i) => 500 + i));
  });

  it('keeps breaking ties after a tie-free ingest follows one with ties', async () => {
    const fixture = await offlineFixture([byCustomer]);
    await fixture.ingest('orders', [...spread(0), ...rowsAt('2026-03-02T10:00:00Z', 500)]);
    await fixture.ingest('orders', rowsAt('2026-03-04T10:00:00Z', 900));
    expect((await records(fixture.dataDir)).map((r) => r.uniqueKeyTimes)).toEqual([
      undefined,
      undefined,
    ]);
    const run = await fixture.trainingSet(entityRows('2026-03-02T12:00:00Z'), {
      request: { features: ['by_customer:amount'] },
    });
    expect(joinsOnTimeAlone(run.sql, 0)).toBe(false);
    expect(run.records?.map((r) => r.amount)).toEqual(keys.map((_, i) => 500 + i));
  });

  it('commits an ingest beside a damaged committed file of its day, recording no key set', async () => {
    const fixture = await offlineFixture([byCustomer]);
    await fixture.ingest('orders', spread(0));
    const root = offlineRoot(fixture.dataDir, 'local');
    const damaged = (await records(fixture.dataDir))[0]?.files?.[0] ?? '';
    await writeFile(path.join(root, damaged), 'not parquet');
    const result = await fixture.ingest('orders', rowsAt('2026-03-02T11:00:00Z', 100));
    expect(result.rows).toBe(keys.length);
    expect((await records(fixture.dataDir))[1]?.uniqueKeyTimes).toBeUndefined();
  });

  it('reads a key-set field edited into another shape as no key set', async () => {
    const fixture = await offlineFixture([byCustomer]);
    await fixture.ingest('orders', spread(0));
    const manifest = manifestPath(offlineRoot(fixture.dataDir, 'local'));
    const [record] = await records(fixture.dataDir);
    for (const edited of ['yes', [{ keys: 'customer_id', time: 'event_ts' }], [null]]) {
      await writeFile(manifest, `${JSON.stringify({ ...record, uniqueKeyTimes: edited })}\n`);
      const run = await fixture.trainingSet(entityRows('2026-03-02T12:00:00Z'), {
        request: { features: ['by_customer:amount'] },
      });
      expect(joinsOnTimeAlone(run.sql, 0)).toBe(false);
      expect(run.records?.map((r) => r.amount)).toEqual(keys.map((_, i) => i));
    }
  });

  it('still joins on the event time alone after compaction merges the tie-free ingests', async () => {
    const fixture = await offlineFixture([byCustomer]);
    await fixture.ingest('orders', spread(0));
    await fixture.ingest('orders', rowsAt('2026-03-02T10:00:00.000002Z', 300));
    const compacted = await compactStore({
      registry: fixture.registry,
      dataDir: fixture.dataDir,
      env: 'local',
      keepReplacedMs: 0,
    });
    expect(compacted.sources[0]?.partitions).toBeGreaterThan(0);
    const after = await records(fixture.dataDir);
    expect(after.every((r) => r.uniqueKeyTimes?.length === 1)).toBe(true);
    expect(new Set(after.flatMap((r) => r.files ?? []).map((f) => path.dirname(f))).size).toBe(2);
    const run = await fixture.trainingSet(entityRows('2026-03-02T12:00:00Z'), {
      request: { features: ['by_customer:amount'] },
    });
    expect(joinsOnTimeAlone(run.sql, 0)).toBe(true);
    expect(run.records?.map((r) => r.amount)).toEqual(keys.map((_, i) => 300 + i));
  });
});
