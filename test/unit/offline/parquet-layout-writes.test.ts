import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DuckdbSession, openDuckdb, queryRows } from '../../../lib/offline/duckdb-session.ts';
import {
  maxOpenPartitionFiles,
  writePartitionedFiles,
  writeSizedFiles,
} from '../../../lib/offline/parquet-layout.ts';
import { makeTempDir } from '../../helpers/run-fstore.ts';

const id = '20260101t000000-0000abcd';
let duckdb: DuckdbSession;
beforeAll(async () => {
  duckdb = await openDuckdb();
  // A low flush threshold makes a few thousand rows behave like an ingest of millions: DuckDB
  // then closes and reopens a partition's file whenever it may not keep every one open.
  await duckdb.connection.run('SET partitioned_write_flush_threshold = 100');
});
afterAll(() => duckdb.close());

/** A table `name` of `rows` rows spread over `partitions` dt values, in random order. */
async function shuffledRows(name: string, rows: number, partitions: number): Promise<void> {
  await duckdb.connection.run('SELECT setseed(0.5)');
  await duckdb.connection.run(
    `CREATE OR REPLACE TABLE ${name} AS SELECT i AS fstore_seq, strftime(DATE '2024-01-01' + CAST(i % ${partitions} AS INTEGER), '%Y-%m-%d') AS dt FROM range(${rows}) t(i) ORDER BY random()`,
  );
}

async function writePartitions(table: string, targetBytes = 128 * 1024 ** 2): Promise<string> {
  const dir = path.join(await makeTempDir('parquet-layout'), 'data');
  await writePartitionedFiles(duckdb.connection, {
    select: `SELECT * FROM ${table}`,
    orderBy: 'fstore_seq',
    dir,
    id,
    targetBytes,
  });
  return dir;
}

/** Each written file's `fstore_seq` values, in the order the file holds them. */
async function seqsPerFile(dir: string): Promise<Map<string, number[]>> {
  const rows = await queryRows(
    duckdb.connection,
    `SELECT filename, list(fstore_seq ORDER BY file_row_number) AS seqs FROM read_parquet('${dir}/**/*.parquet', filename = true, file_row_number = true) GROUP BY filename`,
  );
  return new Map(
    rows.map((row) => [
      path.relative(dir, String(row.filename)),
      (row.seqs as bigint[]).map(Number),
    ]),
  );
}

const ascending = (seqs: readonly number[]) =>
  seqs.every((seq, i) => i === 0 || (seqs[i - 1] ?? -1) < seq);

async function filesPerPartition(dir: string): Promise<Map<string, string[]>> {
  const found = new Map<string, string[]>();
  for (const partition of await readdir(dir))
    found.set(partition, (await readdir(path.join(dir, partition))).sort());
  return found;
}

describe('writePartitionedFiles: one file per dt partition', () => {
  it('writes each partition as one <id>-0 file, leaving the rows in their arrival order, when 150 partitions arrive interleaved', async () => {
    await shuffledRows('interleaved', 6000, 150);
    const dir = await writePartitions('interleaved');
    const layout = await filesPerPartition(dir);
    expect(layout.size).toBe(150);
    expect([...layout.keys()].every((name) => /^dt=\d{4}-\d{2}-\d{2}$/.test(name))).toBe(true);
    expect([...layout.values()].filter((files) => files.join() !== `${id}-0.parquet`)).toEqual([]);
    const files = await seqsPerFile(dir);
    expect([...files.values()].flat().sort((a, b) => a - b)).toEqual(
      Array.from({ length: 6000 }, (_, i) => i),
    );
    // Up to maxOpenPartitionFiles partitions the rows are not sorted: the sort would be most of
    // the write's memory.
    expect([...files.values()].some((seqs) => !ascending(seqs))).toBe(true);
  }, 120_000);

  it(`does not sort the rows at exactly ${maxOpenPartitionFiles} partitions, the open-file limit`, async () => {
    await shuffledRows('at_limit', 3 * maxOpenPartitionFiles, maxOpenPartitionFiles);
    const dir = await writePartitions('at_limit');
    const layout = await filesPerPartition(dir);
    expect(layout.size).toBe(maxOpenPartitionFiles);
    expect([...layout.values()].filter((files) => files.length !== 1)).toEqual([]);
    expect([...(await seqsPerFile(dir)).values()].some((seqs) => !ascending(seqs))).toBe(true);
  }, 120_000);

  it('orders the rows by partition and sequence one partition past the limit, still one file each', async () => {
    const partitions = maxOpenPartitionFiles + 1;
    await shuffledRows('past_limit', 3 * partitions, partitions);
    const dir = await writePartitions('past_limit');
    const layout = await filesPerPartition(dir);
    expect(layout.size).toBe(partitions);
    expect([...layout.values()].filter((files) => files.length !== 1)).toEqual([]);
    const files = [...(await seqsPerFile(dir)).values()];
    expect(files.flat()).toHaveLength(3 * partitions);
    expect(files.filter((seqs) => !ascending(seqs))).toEqual([]);
  }, 120_000);
});

// With several threads DuckDB sometimes fills sized files out of row order (at load 5, both of
// two runs on two threads had a split whose files were not in sequence order, one of them with
// rows 0-122,879 in writeSizedFiles' second file), so these tests write on one thread, where
// the order across files is the one the code asks for.
describe('writing files of a target size, on one DuckDB thread', () => {
  beforeAll(() => duckdb.connection.run('SET threads = 1'));
  afterAll(() => duckdb.connection.run('RESET threads'));

  it('writePartitionedFiles splits a partition above the target size into <id>-0, <id>-1, ... files in sequence order, leaves smaller partitions whole and no work folder behind', async () => {
    await duckdb.connection.run('SELECT setseed(0.25)');
    // 400,000 random doubles (about 3 MB) in one partition, ten rows in another; DuckDB closes a
    // sized file at a row group (122,880 rows), so the big one comes out as 3-4 files.
    await duckdb.connection.run(
      `CREATE OR REPLACE TABLE big_and_small AS SELECT i AS fstore_seq, CASE WHEN i < 400000 THEN '2026-01-01' ELSE '2026-01-02' END AS dt, random() AS amount FROM range(400010) t(i) ORDER BY random()`,
    );
    const targetBytes = 1024 ** 2;
    const dir = await writePartitions('big_and_small', targetBytes);
    expect((await readdir(dir)).sort()).toEqual(['dt=2026-01-01', 'dt=2026-01-02']);
    const layout = await filesPerPartition(dir);
    expect(layout.get('dt=2026-01-02')).toEqual([`${id}-0.parquet`]);
    const big = layout.get('dt=2026-01-01') ?? [];
    expect(big.length).toBeGreaterThan(1);
    expect(big.length).toBeLessThan(10); // so the names sort as their numbers do
    expect(big).toEqual(big.map((_, n) => `${id}-${n}.parquet`));
    const sizes = await Promise.all(
      big.map(async (name) => (await stat(path.join(dir, 'dt=2026-01-01', name))).size),
    );
    expect(sizes.slice(0, -1).every((size) => size > targetBytes / 2)).toBe(true);
    const files = await seqsPerFile(dir);
    const parts = big.map((name) => files.get(path.join('dt=2026-01-01', name)) ?? []);
    expect(parts.every(ascending)).toBe(true);
    expect(ascending(parts.flat())).toBe(true);
    expect(parts.flat()).toHaveLength(400_000);
    const [differences] = await queryRows(
      duckdb.connection,
      `SELECT count(*) AS n FROM ((SELECT fstore_seq, amount FROM big_and_small EXCEPT ALL SELECT fstore_seq, amount FROM read_parquet('${dir}/*/*.parquet')) UNION ALL (SELECT fstore_seq, amount FROM read_parquet('${dir}/*/*.parquet') EXCEPT ALL SELECT fstore_seq, amount FROM big_and_small))`,
    );
    expect(differences).toEqual({ n: 0 });
  }, 120_000);

  it('writeSizedFiles creates missing parent folders and returns its files in name order, rows ordered across them', async () => {
    await duckdb.connection.run('SELECT setseed(0.75)');
    await duckdb.connection.run(
      'CREATE OR REPLACE TABLE sized AS SELECT i AS fstore_seq, random() AS amount FROM range(400000) t(i) ORDER BY random()',
    );
    const dir = path.join(await makeTempDir('parquet-sized'), 'not', 'yet', 'there');
    const written = await writeSizedFiles(duckdb.connection, {
      select: 'SELECT * FROM sized',
      orderBy: 'fstore_seq',
      dir,
      id,
      targetBytes: 1024 ** 2,
    });
    expect(written.length).toBeGreaterThan(1);
    expect(written.length).toBeLessThan(10);
    expect(written).toEqual(written.map((_, n) => path.join(dir, `${id}-${n}.parquet`)));
    expect((await readdir(dir)).map((name) => path.join(dir, name)).sort()).toEqual(written);
    const files = await seqsPerFile(dir);
    const seqs = written.flatMap((file) => files.get(path.relative(dir, file)) ?? []);
    expect(seqs).toEqual(Array.from({ length: 400_000 }, (_, i) => i));
  }, 120_000);
});
