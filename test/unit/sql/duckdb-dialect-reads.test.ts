import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DuckdbSession,
  isNoFilesError,
  openDuckdb,
  queryRows,
} from '../../../lib/offline/duckdb-session.ts';
import { athenaDialect } from '../../../lib/sql/athena-dialect.ts';
import { duckdbDialect, duckdbParquetFiles } from '../../../lib/sql/duckdb-dialect.ts';

// What the DuckDB dialect reads and the window spellings of both dialects, run by DuckDB. A
// Stryker run of the dialects against the unit tests found these reached only by the DuckDB
// integration tests (ingest, aggregation): a store without a manifest, a manifest without
// committed ingests of the source, extra read options, and count-distinct over a window.

let session: DuckdbSession;
let root: string;
const files = {
  first: 'orders/dt=2024-01-01/i1-0.parquet',
  second: 'orders/dt=2024-01-02/i2-0.parquet',
  /** Written by an ingest stopped before its commit. */
  stray: 'orders/dt=2024-01-02/i9-0.parquet',
};

beforeAll(async () => {
  session = await openDuckdb();
  root = mkdtempSync(path.join(tmpdir(), 'fstore-dialect-reads-'));
  for (const [file, select] of [
    [files.first, "SELECT 'c1' AS customer_id, 1 AS amount"],
    // A later file with a column the first lacks: columns are matched by name.
    [files.second, "SELECT 'c2' AS customer_id, 2 AS amount, 'web' AS channel"],
    [files.stray, "SELECT 'c9' AS customer_id, 9 AS amount"],
  ] as const) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    await session.connection.run(`COPY (${select}) TO '${path.join(root, file)}' (FORMAT parquet)`);
  }
});
afterAll(() => {
  session.close();
  rmSync(root, { recursive: true, force: true });
});

function writeManifest(records: { source: string; ingestId: string; files: string[] }[]): void {
  const lines = records.map((r) =>
    JSON.stringify({ ...r, file: 'x.csv', sha256: '0', rows: 1, firstSeq: 1, at: '' }),
  );
  writeFileSync(path.join(root, '_ingests.jsonl'), `${lines.join('\n')}\n`);
}

const read = (relation: string) =>
  queryRows(
    session.connection,
    `SELECT customer_id, amount, channel, dt, typeof(dt) AS dt_type FROM ${relation} ORDER BY customer_id`,
  );

describe('the DuckDB dialect’s source relation', () => {
  it('reads every Parquet file of a store without a manifest, dt as text, columns by name', async () => {
    rmSync(path.join(root, '_ingests.jsonl'), { force: true });
    expect(await read(duckdbDialect(root).sourceRelation('orders'))).toEqual([
      { customer_id: 'c1', amount: 1, channel: null, dt: '2024-01-01', dt_type: 'VARCHAR' },
      { customer_id: 'c2', amount: 2, channel: 'web', dt: '2024-01-02', dt_type: 'VARCHAR' },
      { customer_id: 'c9', amount: 9, channel: null, dt: '2024-01-02', dt_type: 'VARCHAR' },
    ]);
  });

  it('reads only the files the manifest commits for the source', async () => {
    writeManifest([
      { source: 'orders', ingestId: 'i1', files: [files.first] },
      { source: 'orders', ingestId: 'i2', files: [files.second] },
      { source: 'returns', ingestId: 'i3', files: [files.stray] },
    ]);
    expect(await read(duckdbDialect(root).sourceRelation('orders'))).toEqual([
      { customer_id: 'c1', amount: 1, channel: null, dt: '2024-01-01', dt_type: 'VARCHAR' },
      { customer_id: 'c2', amount: 2, channel: 'web', dt: '2024-01-02', dt_type: 'VARCHAR' },
    ]);
  });

  it('finds no files for a source the manifest has no committed ingest of', async () => {
    writeManifest([{ source: 'returns', ingestId: 'i3', files: [files.first] }]);
    const error = await read(duckdbDialect(root).sourceRelation('orders')).catch((e) => e);
    expect(isNoFilesError(error)).toBe(true);
  });

  it('passes extra read options after the layout’s own', async () => {
    const relation = duckdbParquetFiles([path.join(root, files.first)], 'filename = true');
    const [row] = await queryRows(session.connection, `SELECT dt, filename FROM ${relation}`);
    expect(row).toEqual({ dt: '2024-01-01', filename: path.join(root, files.first) });
    const plain = await queryRows(
      session.connection,
      `SELECT * FROM ${duckdbParquetFiles([path.join(root, files.first)])}`,
    );
    expect(plain).toEqual([{ customer_id: 'c1', amount: 1, dt: '2024-01-01' }]);
  });
});

describe('count of distinct values over a window', () => {
  const over = 'PARTITION BY g ORDER BY t ROWS BETWEEN 2 PRECEDING AND CURRENT ROW';
  const rows =
    "(VALUES ('a', 1, 'x'), ('a', 2, 'x'), ('a', 3, NULL), ('a', 4, 'y'), ('a', 5, 'z'), ('b', 1, NULL)) v(g, t, v)";
  const expected = [1, 1, 1, 2, 2, 0];

  it('counts distinct non-NULL values of the frame (DuckDB)', async () => {
    const dialect = duckdbDialect(root);
    const counted = await queryRows(
      session.connection,
      `SELECT ${dialect.countDistinctOver('v', over)} AS n FROM ${rows} ORDER BY g, t`,
    );
    expect(counted.map((r) => r.n)).toEqual(expected);
  });

  it('counts the same with the Athena spelling (Trino’s cardinality is DuckDB’s len)', async () => {
    const sql = athenaDialect('db').countDistinctOver('v', over).replace('cardinality(', 'len(');
    const counted = await queryRows(
      session.connection,
      `SELECT ${sql} AS n FROM ${rows} ORDER BY g, t`,
    );
    expect(counted.map((r) => r.n)).toEqual(expected);
  });
});
