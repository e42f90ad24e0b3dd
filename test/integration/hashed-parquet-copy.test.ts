import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentHashOf } from '../../lib/offline/canonical-rows.ts';
import { type DuckdbSession, openDuckdb, queryRows } from '../../lib/offline/duckdb-session.ts';
import {
  copyFlaggedToParquetHashed,
  copyToParquetHashed,
} from '../../lib/offline/hashed-parquet-copy.ts';
import { makeTempDir } from '../helpers/run-fstore.ts';

/** Rows over many DuckDB chunks: NULLs, '' and long strings, -0.0, NaN, lists, a DECIMAL. */
const rows = (order: 'ASC' | 'DESC') => `SELECT
    CASE WHEN i % 7 = 0 THEN NULL WHEN i % 11 = 0 THEN '' ELSE 'key-' || i || repeat('x', i % 20) END AS k,
    TIMESTAMP '2026-01-01' + to_microseconds(i * 1000003) AS ts,
    CASE WHEN i % 5 = 0 THEN NULL WHEN i % 13 = 0 THEN -0.0 WHEN i % 17 = 0 THEN 'NaN'::DOUBLE ELSE i / 3.0 END AS d,
    CAST(i AS BIGINT) * 9007199254740 AS big,
    i % 3 = 0 AS flag,
    CASE WHEN i % 4 = 0 THEN NULL ELSE [i, i + 1] END AS list,
    CAST(i / 7 AS DECIMAL(12, 3)) AS amount,
    DATE '2026-01-01' + CAST(i % 400 AS INTEGER) AS day
  FROM range(9000) t(i) ORDER BY i ${order}`;

describe('a Parquet output hashed while it is written', () => {
  let session: DuckdbSession;
  let dir: string;
  beforeAll(async () => {
    session = await openDuckdb();
    dir = await makeTempDir('hashed-copy');
  });
  afterAll(() => session.close());

  it('records the content hash of the file as it reads back, and follows the row order', async () => {
    const ascending = path.join(dir, 'asc.parquet');
    const descending = path.join(dir, 'desc.parquet');
    const up = await copyToParquetHashed(session, rows('ASC'), ascending);
    const down = await copyToParquetHashed(session, rows('DESC'), descending);
    expect(up).toBe(await contentHashOf(ascending));
    expect(down).toBe(await contentHashOf(descending));
    expect(down).not.toBe(up);
    const written = await queryRows(
      session.connection,
      `SELECT count(*) AS n FROM read_parquet('${ascending}')`,
    );
    expect(written[0]?.n).toBe(9000);
  });

  it('hashes the file as it reads back when Parquet changes a column type (HUGEINT is stored as DOUBLE)', async () => {
    const file = path.join(dir, 'huge.parquet');
    const hash = await copyToParquetHashed(
      session,
      'SELECT CAST(i AS HUGEINT) * 3 AS h, i AS n FROM range(5000) t(i)',
      file,
    );
    expect(hash).toBe(await contentHashOf(file));
  });

  it('counts the rows each flag column is true in and leaves the flags out of the file', async () => {
    const file = path.join(dir, 'flagged.parquet');
    const copy = await copyFlaggedToParquetHashed(
      session,
      'SELECT i AS n, i % 3 = 0 AS third, CASE WHEN i % 2 = 0 THEN TRUE END AS even FROM range(3000) t(i)',
      file,
      ['third', 'even'],
    );
    expect(copy.rows).toBe(3000);
    expect(copy.trueCounts).toEqual([1000, 1500]);
    expect(copy.hash).toBe(await contentHashOf(file));
    const columns = await queryRows(
      session.connection,
      `SELECT column_name FROM (DESCRIBE SELECT * FROM read_parquet('${file}'))`,
    );
    expect(columns.map((c) => c.column_name)).toEqual(['n']);
  });

  it('leaves no table behind, whether the query works or fails', async () => {
    const tables = async () =>
      (await queryRows(session.connection, 'SELECT table_name FROM duckdb_tables()')).map(
        (t) => t.table_name,
      );
    const before = await tables();
    await copyToParquetHashed(session, 'SELECT 1 AS one', path.join(dir, 'one.parquet'));
    await expect(
      copyToParquetHashed(
        session,
        "SELECT CAST('x' || i AS INTEGER) AS bad FROM range(3) t(i)",
        path.join(dir, 'bad.parquet'),
      ),
    ).rejects.toThrow(/Conversion Error/);
    expect(await tables()).toEqual(before);
  });
});
