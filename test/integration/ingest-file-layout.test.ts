import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../lib/definitions/index.ts';
import { openDuckdb, queryRows } from '../../lib/offline/duckdb-session.ts';
import { ingestFile } from '../../lib/offline/ingest.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import {
  maxOpenPartitionFiles,
  parseFileSize,
  writePartitionedFiles,
} from '../../lib/offline/parquet-layout.ts';
import { compileRegistry } from '../../lib/registry/index.ts';
import { duckdbDialect } from '../../lib/sql/duckdb-dialect.ts';
import { makeTempDir } from '../helpers/run-fstore.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const events = defineSource({
  name: 'events',
  schema: { customer_id: 'string', amount: 'float64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const view = defineFeatureView({
  name: 'event_view',
  entities: [customer],
  source: events,
  features: { amount: 'float64' },
});
const registry = compileRegistry([customer, events, view].map((definition) => ({ definition })));

/** A Parquet input file of `rows` rows, event times spread over `days` days in random order. */
async function inputFile(dir: string, rows: number, days: number): Promise<string> {
  const file = path.join(dir, `input-${rows}-${days}.parquet`);
  const session = await openDuckdb();
  try {
    await session.connection.run('SELECT setseed(0.25)');
    await session.connection.run(
      `COPY (SELECT 'C' || CAST(i % 1000 AS VARCHAR) AS customer_id, random() * 100 AS amount, TIMESTAMP '2026-01-01' + to_microseconds(CAST(floor(random() * ${days} * 86400e6) AS BIGINT)) AS event_ts FROM range(${rows}) t(i)) TO '${file}' (FORMAT parquet)`,
    );
  } finally {
    session.close();
  }
  return file;
}

async function filesPerPartition(dataDir: string): Promise<Map<string, string[]>> {
  const sourceDir = path.join(offlineRoot(dataDir, 'local'), 'events');
  const found = new Map<string, string[]>();
  for (const partition of await readdir(sourceDir))
    found.set(partition, await readdir(path.join(sourceDir, partition)));
  return found;
}

async function storedRows(dataDir: string): Promise<Record<string, unknown>[]> {
  const session = await openDuckdb();
  try {
    const relation = duckdbDialect(offlineRoot(dataDir, 'local')).sourceRelation('events');
    return await queryRows(
      session.connection,
      `SELECT customer_id, amount, CAST(event_ts AS VARCHAR) AS event_ts, fstore_seq, dt FROM ${relation} ORDER BY fstore_seq`,
    );
  } finally {
    session.close();
  }
}

describe('ingest file layout', () => {
  it('writes one file per dt partition when rows of 150 days arrive in random order (more partitions than DuckDB keeps open by default)', async () => {
    const dataDir = await makeTempDir('layout');
    const file = await inputFile(dataDir, 30_000, 150);
    const result = await ingestFile({ registry, dataDir, env: 'local', source: 'events', file });
    const layout = await filesPerPartition(dataDir);
    expect(layout.size).toBe(150);
    expect([...layout.values()].filter((files) => files.length !== 1)).toEqual([]);
    expect(result.files).toHaveLength(150);
    const rows = await storedRows(dataDir);
    expect(rows).toHaveLength(30_000);
    expect(rows.map((r) => r.fstore_seq)).toEqual(rows.map((_, i) => i + 1));
    expect(rows.every((r) => String(r.event_ts).startsWith(String(r.dt)))).toBe(true);
  }, 120_000);

  it('splits a partition larger than the target size into several files holding the same rows and sequence numbers', async () => {
    const dataDir = await makeTempDir('layout');
    const file = await inputFile(dataDir, 300_000, 1);
    const one = await makeTempDir('layout-whole');
    await ingestFile({ registry, dataDir: one, env: 'local', source: 'events', file });
    const result = await ingestFile({
      registry,
      dataDir,
      env: 'local',
      source: 'events',
      file,
      targetFileBytes: 1024 ** 2,
    });
    const [files = []] = [...(await filesPerPartition(dataDir)).values()];
    expect(files.length).toBeGreaterThan(1);
    expect(files.every((name) => name.startsWith(`${result.ingestId}-`))).toBe(true);
    expect(result.files).toHaveLength(files.length);
    expect([...(await filesPerPartition(one)).values()][0]).toHaveLength(1);
    expect(await storedRows(dataDir)).toEqual(await storedRows(one));
  }, 120_000);
});

describe('writePartitionedFiles', () => {
  it('writes one file per partition even when DuckDB flushes its buffers many times (as it does past 524,288 rows)', async () => {
    const dir = await makeTempDir('layout-write');
    const session = await openDuckdb();
    try {
      const { connection } = session;
      // A low flush threshold makes 40,000 rows behave like an ingest of millions.
      await connection.run('SET partitioned_write_flush_threshold = 1000');
      await connection.run('SELECT setseed(0.5)');
      await connection.run(
        `CREATE TABLE input AS SELECT i AS fstore_seq, strftime(DATE '2026-01-01' + CAST(floor(random() * 200) AS INTEGER), '%Y-%m-%d') AS dt FROM range(40000) t(i)`,
      );
      const data = path.join(dir, 'data');
      await writePartitionedFiles(connection, {
        select: 'SELECT * FROM input',
        orderBy: 'fstore_seq',
        dir: data,
        id: '20260101t000000-0000abcd',
        targetBytes: 128 * 1024 ** 2,
      });
      const partitions = await readdir(data);
      expect(partitions).toHaveLength(200);
      const counts = await Promise.all(
        partitions.map(async (p) => (await readdir(path.join(data, p))).length),
      );
      expect(counts.filter((n) => n !== 1)).toEqual([]);
      const [read] = await queryRows(
        connection,
        `SELECT count(*) AS n, count(DISTINCT fstore_seq) AS seqs FROM read_parquet('${data}/*/*.parquet')`,
      );
      expect(read).toEqual({ n: 40000, seqs: 40000 });
    } finally {
      session.close();
    }
  }, 120_000);
});

describe('writePartitionedFiles above the open-file limit', () => {
  it('still writes one file per partition for more partitions than it keeps open (the rows are then ordered by partition)', async () => {
    const dir = await makeTempDir('layout-many');
    const session = await openDuckdb();
    try {
      const { connection } = session;
      const days = maxOpenPartitionFiles + 100;
      await connection.run('SELECT setseed(0.25)');
      await connection.run(
        `CREATE TABLE input AS SELECT i AS fstore_seq, strftime(DATE '2024-01-01' + CAST(floor(random() * ${days}) AS INTEGER), '%Y-%m-%d') AS dt FROM range(${3 * days}) t(i)`,
      );
      const data = path.join(dir, 'data');
      await writePartitionedFiles(connection, {
        select: 'SELECT * FROM input',
        orderBy: 'fstore_seq',
        dir: data,
        id: '20260101t000000-0000abcd',
        targetBytes: 128 * 1024 ** 2,
      });
      const [expected] = await queryRows(connection, 'SELECT count(DISTINCT dt) AS n FROM input');
      const partitions = await readdir(data);
      expect(partitions.length).toBe(expected?.n);
      expect(partitions.length).toBeGreaterThan(maxOpenPartitionFiles);
      const counts = await Promise.all(
        partitions.map(async (p) => (await readdir(path.join(data, p))).length),
      );
      expect(counts.filter((n) => n !== 1)).toEqual([]);
    } finally {
      session.close();
    }
  }, 180_000);
});

describe('parseFileSize', () => {
  it('reads sizes with decimal and binary units, and plain bytes', () => {
    expect(parseFileSize('128MB', 'x')).toBe(128_000_000);
    expect(parseFileSize('128MiB', 'x')).toBe(128 * 1024 ** 2);
    expect(parseFileSize('1.5gb', 'x')).toBe(1_500_000_000);
    expect(parseFileSize('2097152', 'x')).toBe(2 * 1024 ** 2);
  });

  it('refuses text that is no size, and sizes below 1MiB, naming the option', () => {
    expect(() => parseFileSize('big', '--target-file-size')).toThrow(
      /--target-file-size must be a size such as 128MB.*got "big"/,
    );
    expect(() => parseFileSize('10KB', '--target-file-size')).toThrow(
      /--target-file-size must be at least 1MiB/,
    );
  });
});
