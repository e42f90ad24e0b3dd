import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergeableGroups, planCompaction } from '../../../lib/offline/compact-plan.ts';
import { type DuckdbSession, openDuckdb } from '../../../lib/offline/duckdb-session.ts';
import type { IngestRecord } from '../../../lib/offline/ingest-manifest.ts';
import { makeTempDir } from '../../helpers/run-fstore.ts';

let duckdb: DuckdbSession;
let root: string;
beforeAll(async () => {
  duckdb = await openDuckdb();
  root = path.join(await makeTempDir('compaction-plan-order'), 'offline');
  // Written, and recorded, latest partition first.
  for (const file of [
    'dt=2026-03-03/a-0',
    'dt=2026-03-03/b-0',
    'dt=2026-03-01/c-0',
    'dt=2026-03-01/d-0',
  ]) {
    const absolute = path.join(root, 'orders', `${file}.parquet`);
    await mkdir(path.dirname(absolute), { recursive: true });
    await duckdb.connection.run(
      `COPY (SELECT 1::BIGINT AS id, 1::BIGINT AS fstore_seq) TO '${absolute}' (FORMAT PARQUET)`,
    );
  }
  // Same columns, but no fstore_seq to keep their ingest order in a merged file.
  for (const file of ['dt=2026-03-04/f-0', 'dt=2026-03-04/g-0']) {
    const absolute = path.join(root, 'orders', `${file}.parquet`);
    await mkdir(path.dirname(absolute), { recursive: true });
    await duckdb.connection.run(
      `COPY (SELECT 1::BIGINT AS id, 1::BIGINT AS seq) TO '${absolute}' (FORMAT PARQUET)`,
    );
  }
  // Alone in its partition, so never merged: its bytes are not Parquet.
  const lone = path.join(root, 'orders', 'dt=2026-03-02', 'e-0.parquet');
  await mkdir(path.dirname(lone), { recursive: true });
  await writeFile(lone, 'not parquet');
});
afterAll(() => duckdb.close());

const record = (files: string[]): IngestRecord => ({
  ingestId: '20260301t000000-aaaaaaaa',
  source: 'orders',
  file: '/in/orders.csv',
  sha256: 'a',
  rows: files.length,
  firstSeq: 1,
  at: '2026-03-01T00:00:00.000Z',
  files: files.map((file) => `orders/${file}.parquet`),
});

describe('planCompaction: order and files it does not merge', () => {
  it('lists merges in partition order whatever order the ingests wrote them in', async () => {
    const records = [
      record(['dt=2026-03-03/a-0', 'dt=2026-03-03/b-0', 'dt=2026-03-01/c-0', 'dt=2026-03-01/d-0']),
    ];
    const groups = await planCompaction(duckdb.connection, root, 'orders', records, 1_000_000);
    expect(groups.map((g) => [g.partition, g.files.map((f) => path.basename(f))])).toEqual([
      ['dt=2026-03-01', ['c-0.parquet', 'd-0.parquet']],
      ['dt=2026-03-03', ['a-0.parquet', 'b-0.parquet']],
    ]);
  });

  it('does not open a file alone in its partition (nothing to merge it with)', async () => {
    const records = [record(['dt=2026-03-03/a-0', 'dt=2026-03-03/b-0', 'dt=2026-03-02/e-0'])];
    const groups = await planCompaction(duckdb.connection, root, 'orders', records, 1_000_000);
    expect(groups.map((g) => g.partition)).toEqual(['dt=2026-03-03']);
  });

  it('never merges files without an fstore_seq column, however alike', async () => {
    const records = [record(['dt=2026-03-04/f-0', 'dt=2026-03-04/g-0'])];
    expect(await planCompaction(duckdb.connection, root, 'orders', records, 1_000_000)).toEqual([]);
  });

  it('gives each mergeable group sorted, whatever order the files were given in', async () => {
    const files = ['dt=2026-03-03/b-0', 'dt=2026-03-03/a-0'].map((f) =>
      path.join(root, 'orders', `${f}.parquet`),
    );
    expect(await mergeableGroups(duckdb.connection, files)).toEqual([[...files].reverse()]);
  });
});
