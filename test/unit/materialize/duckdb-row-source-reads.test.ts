import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { duckdbRowSource } from '../../../lib/materialize/duckdb-row-source.ts';
import { type DuckdbSession, openDuckdb } from '../../../lib/offline/duckdb-session.ts';
import { duckdbDialect } from '../../../lib/sql/duckdb-dialect.ts';
import type { PlannedView } from '../../../lib/sql/point-in-time-plan.ts';

const viewOf = (source: string): PlannedView => ({
  view: 'account_balance',
  source,
  joinKeys: [{ name: 'account_id', type: 'string' }],
  timestampColumn: 'updated_at',
  features: [{ feature: 'balance', type: 'int64', sourceType: 'int64', outputName: 'balance' }],
});
const window = { until: '2026-03-02T00:00:00Z' };

let session: DuckdbSession;
let root: string;
beforeAll(async () => {
  session = await openDuckdb();
  root = await mkdtemp(path.join(tmpdir(), 'fstore-row-source-'));
  // A store without a manifest is read whole (files placed by hand): two partitions, three
  // accounts, one balance past 2^53, accounts written out of key order.
  for (const [day, values] of [
    [
      '2026-03-01',
      `('b', 9007199254740993, TIMESTAMP '2026-03-01 10:00:00', 1), ('a', 5, TIMESTAMP '2026-03-01 11:00:00', 2)`,
    ],
    [
      '2026-03-02',
      `('c', 7, TIMESTAMP '2026-03-02 00:00:00', 3), ('a', 6, TIMESTAMP '2026-03-02 00:00:00.000001', 4)`,
    ],
  ] as const) {
    const folder = path.join(root, 'balances', `dt=${day}`);
    await mkdir(folder, { recursive: true });
    await session.connection.run(
      `COPY (SELECT * FROM (VALUES ${values}) t(account_id, balance, updated_at, fstore_seq)) TO '${path.join(folder, 'part-0.parquet')}' (FORMAT parquet)`,
    );
  }
  await mkdir(path.join(root, 'broken', 'dt=2026-03-01'), { recursive: true });
  await writeFile(path.join(root, 'broken', 'dt=2026-03-01', 'part-0.parquet'), 'not parquet');
});
afterAll(async () => {
  session.close();
  await rm(root, { recursive: true, force: true });
});

async function readAll(source: string) {
  const rowSource = duckdbRowSource(session.connection, duckdbDialect(root));
  const rows: Record<string, unknown>[] = [];
  for await (const batch of rowSource.latestRows({ view: viewOf(source), window }))
    rows.push(...batch);
  return rows;
}

describe('the DuckDB row source of the materializer', () => {
  it('yields the newest row per entity up to the window’s end, in key order, big integers exact', async () => {
    const rows = await readAll('balances');
    expect(rows.map((r) => [r.account_id, r.balance, r.fstore_seq])).toEqual([
      ['a', 5, 2],
      ['b', '9007199254740993', 1],
      ['c', 7, 3],
    ]);
  });

  it('counts the rows it will yield', async () => {
    const rowSource = duckdbRowSource(session.connection, duckdbDialect(root));
    expect(await rowSource.countLatest?.({ view: viewOf('balances'), window })).toBe(3);
  });

  it('takes a source with no files yet for one without rows', async () => {
    expect(await readAll('never_ingested')).toEqual([]);
    const rowSource = duckdbRowSource(session.connection, duckdbDialect(root));
    expect(await rowSource.countLatest?.({ view: viewOf('never_ingested'), window })).toBe(0);
  });

  it('lets any other engine error through (a damaged file is not an empty source)', async () => {
    await expect(readAll('broken')).rejects.toThrow();
    const rowSource = duckdbRowSource(session.connection, duckdbDialect(root));
    await expect(rowSource.countLatest?.({ view: viewOf('broken'), window })).rejects.toThrow();
  });
});
