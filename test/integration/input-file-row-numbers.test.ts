import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDuckdb, queryRows } from '../../lib/offline/duckdb-session.ts';
import { readInputFile } from '../../lib/offline/read-input-file.ts';
import { quoteLiteral } from '../../lib/sql/dialect.ts';

const rows = 10_000;

describe('row numbers of a Parquet input file', () => {
  let dir: string;
  let session: Awaited<ReturnType<typeof openDuckdb>>;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'fstore-row-numbers-'));
    session = await openDuckdb();
  });
  afterEach(async () => {
    session.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** A Parquet file of `rows` rows in row groups of 1,024, `position` holding each row's index. */
  async function writeFile(connection: DuckDBConnection, name: string, extra = '') {
    const file = path.join(dir, name);
    await connection.run(
      `COPY (SELECT 'C' || (i * 7919 % ${rows}) AS customer_id, i AS position${extra} FROM range(${rows}) t(i) ORDER BY i) TO ${quoteLiteral(file)} (FORMAT parquet, ROW_GROUP_SIZE 1024)`,
    );
    return file;
  }

  /** Runs readInputFile and gives back the statement that created the table. */
  async function read(connection: DuckDBConnection, file: string) {
    const statements: string[] = [];
    const run = connection.run.bind(connection);
    connection.run = ((sql: string, ...rest: never[]) => {
      statements.push(sql);
      return run(sql, ...rest);
    }) as typeof connection.run;
    try {
      const columns = await readInputFile(connection, file, {
        table: 'numbered',
        rowNumberColumn: 'fstore_row_id',
      });
      return { columns, created: statements.find((s) => s.includes('TEMP TABLE')) ?? '' };
    } finally {
      connection.run = run;
    }
  }

  it('numbers the rows from 1 in file order across row groups', async () => {
    const { connection } = session;
    const file = await writeFile(connection, 'entities.parquet');
    const { columns } = await read(connection, file);
    expect([...columns.keys()]).toEqual(['customer_id', 'position']);
    const [check] = await queryRows(
      connection,
      'SELECT count(*) AS n, count(*) FILTER (WHERE fstore_row_id <> position + 1) AS off FROM numbered',
    );
    expect(check).toEqual({ n: rows, off: 0 });
  });

  it('numbers them while scanning, with no window over the whole file (one thread would do it)', async () => {
    const { connection } = session;
    const file = await writeFile(connection, 'entities.parquet');
    const { created } = await read(connection, file);
    const select = created.replace(/^CREATE OR REPLACE TEMP TABLE \S+ AS /, '');
    const plan = await queryRows(connection, `EXPLAIN ${select}`);
    expect(plan.map((row) => String(row.explain_value)).join('\n')).not.toMatch(/WINDOW/);
  });

  it('numbers a file that has a column named file_row_number of its own, keeping that column', async () => {
    const { connection } = session;
    const file = await writeFile(connection, 'own.parquet', ', -i AS file_row_number');
    const { columns } = await read(connection, file);
    expect([...columns.keys()]).toEqual(['customer_id', 'position', 'file_row_number']);
    const [check] = await queryRows(
      connection,
      'SELECT count(*) FILTER (WHERE fstore_row_id <> position + 1 OR file_row_number <> -position) AS off FROM numbered',
    );
    expect(check).toEqual({ off: 0 });
  });
});
