import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { CSV_COPY_OPTIONS } from '../../../lib/offline/training-set.ts';
import { diffTrainingSets } from '../../../lib/offline/training-set-diff.ts';
import { makeTempDir } from '../../helpers/run-fstore.ts';

const dir = await makeTempDir('training-set-diff');
let written = 0;

/** A CSV file of these lines (header first), as DuckDB writes a training set. */
async function csv(...lines: string[]): Promise<string> {
  const file = path.join(dir, `set-${written++}.csv`);
  await writeFile(file, lines.map((line) => `${line}\n`).join(''));
  return file;
}

describe('diffTrainingSets', () => {
  it('finds no difference between two files with the same rows, and counts them', async () => {
    const rows = ['customer_id,score', 'C1,1.5', '"C2, ""quoted""",2'];
    expect(await diffTrainingSets(await csv(...rows), await csv(...rows))).toEqual({
      expectedRows: 2,
      actualRows: 2,
      differentRows: 0,
    });
  });

  it('names the first different row, 1-based without the header, and only the columns that differ', async () => {
    const expected = await csv('customer_id,score,n', 'C1,1,7', 'C2,2,8', 'C3,3,9', 'C4,4,1');
    const actual = await csv('customer_id,score,n', 'C1,1,7', 'C2,2.5,8', 'C3,3,9', 'C4,4,2');
    expect(await diffTrainingSets(expected, actual)).toEqual({
      expectedRows: 4,
      actualRows: 4,
      differentRows: 2,
      firstDifferentRow: { row: 2, columns: ['score'], expected: 'C2,2,8', actual: 'C2,2.5,8' },
    });
  });

  it('counts a row only the replayed file has as different, at its own row number', async () => {
    const expected = await csv('customer_id,score', 'C1,1', 'C2,2');
    const actual = await csv('customer_id,score', 'C1,1', 'C2,2', 'C3,3');
    expect(await diffTrainingSets(expected, actual)).toEqual({
      expectedRows: 2,
      actualRows: 3,
      differentRows: 1,
      firstDifferentRow: {
        row: 3,
        columns: ['customer_id', 'score'],
        expected: '(no row)',
        actual: 'C3,3',
      },
    });
  });

  it('counts every row the replayed file lacks', async () => {
    const expected = await csv('customer_id,score', 'C1,1', 'C2,2', 'C3,3');
    const actual = await csv('customer_id,score', 'C1,1');
    expect(await diffTrainingSets(expected, actual)).toEqual({
      expectedRows: 3,
      actualRows: 1,
      differentRows: 2,
      firstDifferentRow: {
        row: 2,
        columns: ['customer_id', 'score'],
        expected: 'C2,2',
        actual: '(no row)',
      },
    });
  });

  it('gives both headers when the columns differ, and compares values by column name', async () => {
    const expected = await csv('customer_id,score,n', 'C1,1,7', 'C2,2,8');
    const actual = await csv('customer_id,n,rank', 'C1,1,7', 'C2,8,5');
    expect(await diffTrainingSets(expected, actual)).toEqual({
      expectedRows: 2,
      actualRows: 2,
      differentRows: 1,
      columns: {
        expected: ['customer_id', 'score', 'n'],
        actual: ['customer_id', 'n', 'rank'],
      },
      // customer_id and n hold the same values; score is only expected, rank only actual.
      firstDifferentRow: {
        row: 2,
        columns: ['score', 'rank'],
        expected: 'C2,2,8',
        actual: 'C2,8,5',
      },
    });
  });

  it('reads an empty file as no header and no rows', async () => {
    const empty = await csv();
    expect(await diffTrainingSets(empty, await csv())).toEqual({
      expectedRows: 0,
      actualRows: 0,
      differentRows: 0,
    });
    expect(await diffTrainingSets(empty, await csv('customer_id'))).toEqual({
      expectedRows: 0,
      actualRows: 0,
      differentRows: 0,
      columns: { expected: [''], actual: ['customer_id'] },
    });
  });

  it('compares a Parquet file by its rows as canonical CSV, whatever its writer', async () => {
    const sql = `SELECT * FROM (VALUES ('C1', TIMESTAMPTZ '2026-03-10 00:00:00.123456+00', 1.5), ('C2', TIMESTAMPTZ '2026-03-11 00:00:00+00', NULL)) t(customer_id, event_timestamp, score)`;
    const parquet = path.join(dir, 'set.parquet');
    const asCsv = path.join(dir, 'set-from-duckdb.csv');
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      await connection.run(`SET TimeZone = 'UTC'`);
      await connection.run(`COPY (${sql}) TO '${parquet}' (FORMAT parquet)`);
      await connection.run(`COPY (${sql}) TO '${asCsv}' (${CSV_COPY_OPTIONS})`);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
    expect(await diffTrainingSets(parquet, asCsv)).toEqual({
      expectedRows: 2,
      actualRows: 2,
      differentRows: 0,
    });
    const changed = await csv(
      'customer_id,event_timestamp,score',
      'C1,2026-03-10T00:00:00.123456Z,1.5',
      'C2,2026-03-11T00:00:00Z,0',
    );
    expect(await diffTrainingSets(parquet, changed)).toMatchObject({
      differentRows: 1,
      firstDifferentRow: { row: 2, columns: ['event_timestamp', 'score'] },
    });
  });
});
