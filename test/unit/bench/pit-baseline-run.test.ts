import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const runner = fileURLToPath(new URL('../../../bench/pit-baseline-run.mjs', import.meta.url));
const day = 86_400;
const dir = mkdtempSync(path.join(tmpdir(), 'fstore-pit-baseline-'));
const file = (name: string) => path.join(dir, name);

// Entity rows at noon on 2025-02-01 unless said; TTL 1 day. Each key tests one edge.
const entityRows = `
  ('K_LATEST', TIMESTAMP '2025-02-01 12:00:00', 1),
  ('K_EDGE',   TIMESTAMP '2025-02-01 12:00:00', 0),
  ('K_STALE',  TIMESTAMP '2025-02-01 12:00:00', 1),
  ('K_NONE',   TIMESTAMP '2025-02-01 12:00:00', 0),
  ('K_LATEST', TIMESTAMP '2025-02-01 12:00:00', 0),
  ('K_NULL',   TIMESTAMP '2025-02-01 12:00:00', 1),
  ('K_LATEST', TIMESTAMP '2025-01-31 12:00:00', 1),
  ('K_TIE',    TIMESTAMP '2025-02-01 12:00:00', 0)`;
const sourceRows = `
  ('K_LATEST', 1.0, 1, TIMESTAMP '2025-01-31 12:00:00', TIMESTAMP '2025-03-01'),
  ('K_LATEST', 2.0, 2, TIMESTAMP '2025-02-01 12:00:00', TIMESTAMP '2025-03-01'),
  ('K_LATEST', 3.0, 3, TIMESTAMP '2025-02-01 12:00:00.000001', TIMESTAMP '2025-03-01'),
  ('K_EDGE',   4.0, 4, TIMESTAMP '2025-01-31 12:00:00', TIMESTAMP '2025-03-01'),
  ('K_STALE',  5.0, 5, TIMESTAMP '2025-01-31 11:59:59.999999', TIMESTAMP '2025-03-01'),
  ('K_NULL',   6.0, 6, TIMESTAMP '2025-02-01 10:00:00', TIMESTAMP '2025-03-01'),
  ('K_NULL',   NULL, 7, TIMESTAMP '2025-02-01 11:00:00', TIMESTAMP '2025-03-01'),
  ('K_TIE',    8.0, 8, TIMESTAMP '2025-02-01 11:00:00', TIMESTAMP '2025-03-02'),
  ('K_TIE',    9.0, 9, TIMESTAMP '2025-02-01 11:00:00', TIMESTAMP '2025-03-01')`;
// Without a created column K_TIE's two rows are a full tie, which Feast's template returns
// twice; those sources leave the second row out.
const expectedValues: [number | null, number | null][] = [
  [2, 2],
  [4, 4],
  [null, null],
  [null, null],
  [2, 2],
  [null, 7],
  [1, 1],
  [8, 8],
];

async function sql(statement: string): Promise<unknown[][]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    return (await connection.runAndReadAll(statement)).getRows();
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

function run(mode: string, out: string, views: string[]): void {
  execFileSync(
    process.execPath,
    [runner, mode, file(out), file('entities.parquet'), String(day), ...views],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
}

const resultRows = (out: string) =>
  sql(
    `SELECT * EXCLUDE (customer_id, event_timestamp, label) FROM read_parquet('${file(out)}')`,
  ).then((rows) => rows.map((row) => row.map((value) => (value === null ? null : Number(value)))));

beforeAll(async () => {
  await sql(
    `COPY (SELECT * FROM (VALUES ${entityRows}) t(customer_id, event_timestamp, label)) TO '${file('entities.parquet')}' (FORMAT parquet)`,
  );
  const columns = 't(customer_id, value, bucket, event_ts, created_ts)';
  await sql(
    `COPY (SELECT * FROM (VALUES ${sourceRows}) ${columns}) TO '${file('created.parquet')}' (FORMAT parquet)`,
  );
  await sql(
    `COPY (SELECT * EXCLUDE (created_ts) FROM (VALUES ${sourceRows}) ${columns} WHERE value IS DISTINCT FROM 9.0) TO '${file('plain.parquet')}' (FORMAT parquet)`,
  );
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('bench:pit baseline runner', () => {
  it("runs Feast's template to the contract's values: TTL edges inclusive, later rows ignored, duplicates and the NULL winner kept, entity file order", async () => {
    run('feast', 'feast.parquet', [`v=${file('plain.parquet')}`]);
    expect(await resultRows('feast.parquet')).toEqual(expectedValues);
  }, 60_000);

  it("gives the ASOF baseline's result for every view, one or several", async () => {
    const views = ['a', 'b', 'c'].map((name) => `${name}=${file('plain.parquet')}`);
    run('feast', 'feast3.parquet', views);
    run('asof', 'asof3.parquet', views);
    const feast = await resultRows('feast3.parquet');
    expect(feast).toEqual(await resultRows('asof3.parquet'));
    expect(feast.map((row) => row.slice(4))).toEqual(expectedValues);
  }, 60_000);

  it("keeps the row with the greatest created time when event times tie (the template's dedup step)", async () => {
    run('feast', 'created.parquet', [`v=${file('created.parquet')}@created_ts`]);
    const rows = await resultRows('created.parquet');
    expect(rows.at(-1)).toEqual([8, 8]);
    expect(rows).toEqual(expectedValues);
  }, 60_000);

  it('refuses a view argument that is not view=file[@created], naming it', () => {
    expect(() => run('feast', 'bad.parquet', [file('plain.parquet')])).toThrow(
      /view argument ".*plain\.parquet" is not <view>=<file>/,
    );
    expect(() => run('asof', 'bad.parquet', [`v=${file('created.parquet')}@created_ts`])).toThrow(
      /view v: the asof baseline has no created-time tie-break/,
    );
  }, 60_000);
});
