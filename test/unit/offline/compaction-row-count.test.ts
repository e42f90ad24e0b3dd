import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refuseRowCountChange } from '../../../lib/offline/compact-row-count.ts';
import { type DuckdbSession, openDuckdb } from '../../../lib/offline/duckdb-session.ts';
import { makeTempDir } from '../../helpers/run-fstore.ts';

let duckdb: DuckdbSession;
let dir: string;
/** Where the test files are: `<name>.parquet`, holding as many rows as the name says. */
const file = (name: string) => path.join(dir, `${name}.parquet`);
beforeAll(async () => {
  duckdb = await openDuckdb();
  dir = await makeTempDir('compaction-row-count');
  await mkdir(dir, { recursive: true });
  for (const [name, rows] of [
    ['two', 2],
    ['three', 3],
    ['five', 5],
    ['four', 4],
  ] as const)
    await duckdb.connection.run(
      `COPY (SELECT range AS id FROM range(${rows})) TO '${file(name)}' (FORMAT PARQUET)`,
    );
});
afterAll(() => duckdb.close());

const merged = (files: string[]) => ({ source: 'orders', partition: 'dt=2026-03-01', files });

describe('refuseRowCountChange: a merge holds exactly the rows it replaces', () => {
  it('accepts written files with the same number of rows as the merged ones', async () => {
    await expect(
      refuseRowCountChange(duckdb.connection, merged([file('two'), file('three')]), [file('five')]),
    ).resolves.toBeUndefined();
  });

  it('refuses fewer rows, naming the partition and both counts', async () => {
    await expect(
      refuseRowCountChange(duckdb.connection, merged([file('two'), file('three')]), [file('four')]),
    ).rejects.toThrow(
      'internal: merging 2 files of orders/dt=2026-03-01 gave 4 rows, not 5; nothing was committed',
    );
  });

  it('refuses a merge that wrote no file at all as 0 rows', async () => {
    await expect(
      refuseRowCountChange(duckdb.connection, merged([file('two')]), []),
    ).rejects.toThrow('internal: merging 1 files of orders/dt=2026-03-01 gave 0 rows, not 2');
  });
});
