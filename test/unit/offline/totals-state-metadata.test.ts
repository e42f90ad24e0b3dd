import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DuckdbSession, openDuckdb } from '../../../lib/offline/duckdb-session.ts';
import {
  basesDir,
  parquetRows,
  readTotalsState,
  stateMetadata,
  sumScalesKey,
} from '../../../lib/offline/running-totals-state.ts';
import { quoteLiteral } from '../../../lib/sql/dialect.ts';
import { makeTempDir } from '../../helpers/run-fstore.ts';

let duckdb: DuckdbSession;
let dir: string;
beforeAll(async () => {
  duckdb = await openDuckdb();
  dir = path.join(await makeTempDir('totals-state'), 'totals');
  await mkdir(dir, { recursive: true });
});
afterAll(() => duckdb.close());

let fileIndex = 0;
async function totalsFile(metadata: string, rows = 3): Promise<string> {
  const file = path.join(dir, `t${fileIndex++}.parquet`);
  await duckdb.connection.run(
    `COPY (SELECT range AS x FROM range(${rows})) TO ${quoteLiteral(file)} (FORMAT PARQUET, ${metadata})`,
  );
  return file;
}

describe('running totals state in Parquet metadata', () => {
  it('reads back what a totals file records, the base as a path in bases/ next to it', async () => {
    const covered = ['orders/dt=2026-03-01/a-0.parquet\t120\t1700000000000'];
    const file = await totalsFile(
      stateMetadata({
        sumScales: new Map([
          ['amount', 20],
          ["it's", 3],
        ]),
        covered,
        statistics: { amount_max: 12.5, amount_min: null },
        base: 'base-1.parquet',
      }),
    );
    expect(await readTotalsState(duckdb.connection, file)).toEqual({
      file,
      sumScales: new Map([
        ['amount', 20],
        ["it's", 3],
      ]),
      covered,
      statistics: { amount_max: 12.5, amount_min: null },
      base: path.join(dir, 'bases', 'base-1.parquet'),
    });
    expect(basesDir(dir)).toBe(path.join(dir, 'bases'));
  });

  it('records no base for a full build, and empty statistics when none were recorded', async () => {
    const file = await totalsFile(stateMetadata({ sumScales: new Map(), covered: [] }));
    expect(await readTotalsState(duckdb.connection, file)).toEqual({
      file,
      sumScales: new Map(),
      covered: [],
      statistics: {},
    });
  });

  it('gives only the sum scales for totals of an older format (no state, another version, no covered list)', async () => {
    const scales = `${sumScalesKey}: ${quoteLiteral('{"amount":4}')}`;
    const older = await totalsFile(`KV_METADATA {${scales}}`);
    const otherVersion = await totalsFile(
      `KV_METADATA {${scales}, fstore_totals_state: ${quoteLiteral('{"version":2,"covered":[]}')}}`,
    );
    const noCovered = await totalsFile(
      `KV_METADATA {${scales}, fstore_totals_state: ${quoteLiteral('{"version":1,"base":"b.parquet"}')}}`,
    );
    for (const file of [older, otherVersion, noCovered])
      expect(await readTotalsState(duckdb.connection, file)).toEqual({
        file,
        sumScales: new Map([['amount', 4]]),
      });
  });

  it('refuses a Parquet file that is not running totals, naming it and the missing key', async () => {
    const file = await totalsFile(`KV_METADATA {other: 'x'}`);
    await expect(readTotalsState(duckdb.connection, file)).rejects.toThrow(
      `running totals ${file} have no fstore_sum_scales metadata`,
    );
  });

  it('counts a file’s rows from its footer', async () => {
    const file = await totalsFile(stateMetadata({ sumScales: new Map(), covered: [] }), 1234);
    expect(await parquetRows(duckdb.connection, file)).toBe(1234);
  });
});
