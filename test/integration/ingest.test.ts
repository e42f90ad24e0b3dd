import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../lib/definitions/index.ts';
import { ingestFile } from '../../lib/offline/ingest.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const orders = defineSource({
  name: 'orders',
  schema: {
    customer_id: 'string',
    amount: 'float64',
    items: 'int32',
    tags: 'list<string>',
    event_ts: 'timestamp',
  },
  timestampField: 'event_ts',
  fieldMapping: { Amount: 'amount' },
});
const view = defineFeatureView({
  name: 'order_view',
  entities: [customer],
  source: orders,
  features: { amount: 'float64', items: 'int32' },
});

async function storedFiles(dataDir: string): Promise<string[]> {
  const root = path.join(offlineRoot(dataDir, 'local'), 'orders');
  const partitions = await readdir(root).catch(() => [] as string[]);
  const files = await Promise.all(
    partitions.map(async (p) => (await readdir(path.join(root, p))).map((f) => `${p}/${f}`)),
  );
  return files.flat().sort();
}

const good = {
  customer_id: 'C1',
  Amount: 12.5,
  items: 2,
  tags: ['a'],
  event_ts: '2026-03-01T10:00:00Z',
};

describe('fstore ingest (local)', () => {
  it('writes Hive-partitioned Parquet by event day with the schema types and fstore_seq', async () => {
    const fixture = await offlineFixture([view]);
    const result = await fixture.ingest('orders', [
      good,
      { ...good, event_ts: '2026-03-02T23:59:59+01:00' },
    ]);
    expect(result.rows).toBe(2);
    expect(result.partitions).toEqual(['dt=2026-03-01', 'dt=2026-03-02']);
    const db = await DuckDBInstance.create(':memory:');
    const connection = await db.connect();
    const glob = path.join(offlineRoot(fixture.dataDir, 'local'), 'orders', '*', '*.parquet');
    const reader = await connection.runAndReadAll(
      `DESCRIBE SELECT * FROM read_parquet('${glob}', hive_partitioning = false)`,
    );
    expect(reader.getRowObjects().map((r) => `${r.column_name}:${r.column_type}`)).toEqual([
      'customer_id:VARCHAR',
      'amount:DOUBLE',
      'items:INTEGER',
      'tags:VARCHAR[]',
      'event_ts:TIMESTAMP',
      'fstore_seq:BIGINT',
    ]);
    const times = await connection.runAndReadAll(
      `SELECT strftime(event_ts, '%Y-%m-%dT%H:%M:%S') AS t FROM read_parquet('${glob}') ORDER BY t`,
    );
    expect(times.getRowObjects().map((r) => r.t)).toEqual([
      '2026-03-01T10:00:00',
      '2026-03-02T22:59:59',
    ]);
    connection.closeSync();
    db.closeSync();
  });

  it('reads CSV and Parquet files as well as JSON lines', async () => {
    const fixture = await offlineFixture([view]);
    const csv = path.join(fixture.dataDir, 'orders.csv');
    await writeFile(
      csv,
      'customer_id,Amount,items,tags,event_ts\nC1,3.5,1,"[x, y]",2026-03-01 10:00:00\nC2,4,2,,2026-03-01T11:00:00Z\n',
    );
    const fromCsv = await ingestFile({
      registry: fixture.registry,
      dataDir: fixture.dataDir,
      env: 'local',
      source: 'orders',
      file: csv,
    });
    expect(fromCsv.rows).toBe(2);
    const parquet = path.join(fixture.dataDir, 'orders.parquet');
    const db = await DuckDBInstance.create(':memory:');
    const connection = await db.connect();
    await connection.run(
      `COPY (SELECT 'C3' AS customer_id, 1.25 AS Amount, 3 AS items, ['t'] AS tags, TIMESTAMP '2026-03-03 00:00:00' AS event_ts) TO '${parquet}' (FORMAT parquet)`,
    );
    connection.closeSync();
    db.closeSync();
    const fromParquet = await ingestFile({
      registry: fixture.registry,
      dataDir: fixture.dataDir,
      env: 'local',
      source: 'orders',
      file: parquet,
    });
    expect(fromParquet.partitions).toEqual(['dt=2026-03-03']);
  });

  it.each([
    [
      'a value of the wrong type',
      { ...good, items: 'two' },
      'row 2, column items: "two" is not a valid int32',
    ],
    [
      'a fractional number for an integer',
      { ...good, items: 2.5 },
      'row 2, column items: "2.5" is not a valid int32',
    ],
    [
      'an unparseable timestamp',
      { ...good, event_ts: '31/02/2026' },
      'row 2, column event_ts: "31/02/2026" is not a valid timestamp',
    ],
    ['an empty timestamp', { ...good, event_ts: null }, 'row 2, column event_ts: is empty'],
    ['an empty join key', { ...good, customer_id: null }, 'row 2, column customer_id: is empty'],
  ])(
    'rejects a file with %s, naming row and column, and writes nothing',
    async (_, bad, message) => {
      const fixture = await offlineFixture([view]);
      await expect(fixture.ingest('orders', [good, bad, good])).rejects.toThrow(message);
      expect(await storedFiles(fixture.dataDir)).toEqual([]);
    },
  );

  it('rejects a file missing a column, naming the raw name it looked for', async () => {
    const fixture = await offlineFixture([view]);
    const { Amount: _, ...withoutAmount } = good;
    await expect(fixture.ingest('orders', [withoutAmount])).rejects.toThrow(
      'has no column "Amount" (mapped to amount) required by source "orders"',
    );
  });

  it('accepts NULLs in nullable value columns', async () => {
    const fixture = await offlineFixture([view]);
    expect((await fixture.ingest('orders', [{ ...good, Amount: null, tags: null }])).rows).toBe(1);
  });

  it('refuses to ingest the same file twice unless asked', async () => {
    const fixture = await offlineFixture([view]);
    const file = await fixture.writeJsonl([good]);
    const options = {
      registry: fixture.registry,
      dataDir: fixture.dataDir,
      env: 'local',
      source: 'orders',
      file,
    };
    await ingestFile(options);
    const before = await storedFiles(fixture.dataDir);
    await expect(ingestFile(options)).rejects.toThrow(
      /was already ingested into "orders" at .*nothing was written/,
    );
    expect(await storedFiles(fixture.dataDir)).toEqual(before);
    await ingestFile({ ...options, allowDuplicate: true });
    expect((await storedFiles(fixture.dataDir)).length).toBeGreaterThan(before.length);
  });

  it('rejects an unknown source, a missing file and an unknown file type', async () => {
    const fixture = await offlineFixture([view]);
    const file = await fixture.writeJsonl([good]);
    const base = { registry: fixture.registry, dataDir: fixture.dataDir, env: 'local' };
    await expect(ingestFile({ ...base, source: 'order', file })).rejects.toThrow(
      'no source "order" in the registry',
    );
    await expect(ingestFile({ ...base, source: 'orders', file: '/nope.csv' })).rejects.toThrow(
      'file /nope.csv does not exist',
    );
    const xml = path.join(fixture.dataDir, 'x.xml');
    await writeFile(xml, '<a/>');
    await expect(ingestFile({ ...base, source: 'orders', file: xml })).rejects.toThrow(
      'unknown file type ".xml"',
    );
  });
});
