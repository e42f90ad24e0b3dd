import {
  appendFile,
  copyFile,
  mkdir,
  readdir,
  readFile,
  rm,
  utimes,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../lib/definitions/index.ts';
import { isNoFilesError, openDuckdb, queryRows } from '../../lib/offline/duckdb-session.ts';
import { findIngestLeftovers, removeIngestLeftovers } from '../../lib/offline/ingest-leftovers.ts';
import { MissingCommittedFilesError, parseManifest } from '../../lib/offline/ingest-manifest.ts';
import {
  ingestLockPath,
  ingestManifestPath,
  offlineRoot,
  stagingDir,
} from '../../lib/offline/local-layout.ts';
import { runningTotalsDir, runningTotalsTemporary } from '../../lib/offline/running-totals.ts';
import { viewStatistics } from '../../lib/quality/feature-stats.ts';
import { duckdbQueryRows } from '../../lib/quality/query-engine.ts';
import { duckdbDialect } from '../../lib/sql/duckdb-dialect.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';
import { makeTempDir, runFstore, writeDefs } from '../helpers/run-fstore.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const orders = defineSource({
  name: 'orders',
  schema: { customer_id: 'string', amount: 'float64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const view = defineFeatureView({
  name: 'order_view',
  entities: [customer],
  source: orders,
  features: { amount: 'float64' },
});
const rowsOn = (days: number[], amount = 1) =>
  days.map((day, i) => ({
    customer_id: `C${i}`,
    amount,
    event_ts: `2026-03-${String(day).padStart(2, '0')}T10:00:00Z`,
  }));

/** The rows of `orders` through the relation every local reader uses. */
async function stored(dataDir: string): Promise<Record<string, unknown>[]> {
  const session = await openDuckdb();
  try {
    const relation = duckdbDialect(offlineRoot(dataDir, 'local')).sourceRelation('orders');
    return await queryRows(session.connection, `SELECT * FROM ${relation} ORDER BY fstore_seq`);
  } catch (error) {
    if (isNoFilesError(error)) return [];
    throw error;
  } finally {
    session.close();
  }
}

async function manifest(dataDir: string) {
  return parseManifest(await readFile(ingestManifestPath(dataDir, 'local'), 'utf8'));
}

/** A data file named like one of ingest `ingestId`, copied from a committed one. */
async function plantFile(dataDir: string, from: string, ingestId: string, day = 'dt=2026-03-09') {
  const folder = path.join(offlineRoot(dataDir, 'local'), 'orders', day);
  await mkdir(folder, { recursive: true });
  const file = path.join(folder, `${ingestId}-0.parquet`);
  await copyFile(from, file);
  return file;
}

describe('the commit point of a local ingest', () => {
  it('records the files of each ingest, named by its id, in the manifest', async () => {
    const fixture = await offlineFixture([view]);
    const result = await fixture.ingest('orders', rowsOn([1, 2, 2]));
    const [record] = await manifest(fixture.dataDir);
    expect(record?.ingestId).toBe(result.ingestId);
    expect(record?.files).toEqual(
      result.files.map((f) => path.relative(offlineRoot(fixture.dataDir, 'local'), f)),
    );
    expect(record?.files?.every((f) => path.basename(f).startsWith(`${result.ingestId}-`))).toBe(
      true,
    );
  });

  it('reads only files of committed ingests: a file of an ingest with no manifest line is not read, and doctor finds it', async () => {
    const fixture = await offlineFixture([view]);
    const result = await fixture.ingest('orders', rowsOn([1, 2]));
    const orphan = await plantFile(
      fixture.dataDir,
      result.files[0] ?? '',
      '20260101t000000-deadbeef',
    );
    expect(await stored(fixture.dataDir)).toHaveLength(2);
    const root = offlineRoot(fixture.dataDir, 'local');
    const { leftovers } = await findIngestLeftovers(root);
    expect(leftovers.map((l) => [l.kind, l.path])).toEqual([['uncommitted data file', orphan]]);
    expect(leftovers[0]?.bytes).toBeGreaterThan(0);

    await removeIngestLeftovers(root, ingestLockPath(fixture.dataDir, 'local'), 'store');
    expect((await findIngestLeftovers(root)).leftovers).toEqual([]);
    expect(await stored(fixture.dataDir)).toHaveLength(2);
  });

  it('keeps reading a store written before the commit rule: records without files name theirs by ingest id, a torn last line is no commit', async () => {
    const fixture = await offlineFixture([view]);
    const first = await fixture.ingest('orders', rowsOn([1, 2]));
    const second = await fixture.ingest('orders', rowsOn([3]));
    // Rewrite the manifest as an older fstore appended it: no `files`, and a torn last line.
    const legacy = (await manifest(fixture.dataDir)).map(({ files: _files, ...rest }) => rest);
    await writeFile(
      ingestManifestPath(fixture.dataDir, 'local'),
      `${legacy.map((r) => JSON.stringify(r)).join('\n')}\n{"ingestId":"20260101t000000-0badc0de","sou`,
    );
    // The crash the torn line came from left a data file too.
    await plantFile(fixture.dataDir, first.files[0] ?? '', '20260101t000000-0badc0de');
    expect((await stored(fixture.dataDir)).map((r) => r.fstore_seq)).toEqual([1, 2, 3]);

    const third = await fixture.ingest('orders', rowsOn([4]));
    expect((await stored(fixture.dataDir)).map((r) => r.fstore_seq)).toEqual([1, 2, 3, 4]);
    expect((await manifest(fixture.dataDir)).map((r) => r.ingestId)).toEqual([
      first.ingestId,
      second.ingestId,
      third.ingestId,
    ]);
  });

  it('reads a store without a manifest (files placed by hand) whole, as before', async () => {
    const fixture = await offlineFixture([view]);
    await fixture.ingest('orders', rowsOn([1, 2]));
    await rm(ingestManifestPath(fixture.dataDir, 'local'));
    expect(await stored(fixture.dataDir)).toHaveLength(2);
  });

  it('treats a source with no committed ingest as empty even when uncommitted files are there', async () => {
    const fixture = await offlineFixture([view]);
    const result = await fixture.ingest('orders', rowsOn([1]));
    await writeFile(ingestManifestPath(fixture.dataDir, 'local'), '');
    expect(await stored(fixture.dataDir)).toEqual([]);
    // As for a source nothing was ever ingested into.
    await expect(
      fixture.trainingSet([{ customer_id: 'C0', event_timestamp: '2026-03-05T00:00:00Z' }], {
        request: { features: ['order_view:amount'] },
      }),
    ).rejects.toThrow('a requested view has no data');
    // Nothing committed: the next ingest starts at the first sequence number.
    const rerun = await fixture.ingest('orders', rowsOn([1]));
    expect(rerun.ingestId).not.toBe(result.ingestId);
    expect((await stored(fixture.dataDir)).map((r) => r.fstore_seq)).toEqual([1]);
  });

  it('refuses to read a source whose committed file was deleted by hand, naming the file, its ingest and the fix, where it used to read it as empty', async () => {
    const fixture = await offlineFixture([view]);
    const first = await fixture.ingest('orders', rowsOn([1, 2]));
    await fixture.ingest('orders', rowsOn([3], 5));
    const entity = [{ customer_id: 'C0', event_timestamp: '2026-03-05T00:00:00Z' }];
    const request = { request: { features: ['order_view:amount'] } };
    const stats = async () => {
      const session = await openDuckdb();
      try {
        return await viewStatistics({
          query: duckdbQueryRows(session.connection),
          dialect: duckdbDialect(offlineRoot(fixture.dataDir, 'local')),
          registry: fixture.registry,
          view: 'order_view',
        });
      } finally {
        session.close();
      }
    };
    // All files there: the rows of both ingests.
    const before = await fixture.trainingSet(entity, request);
    expect((await stats()).rows).toBe(3);

    // Every file of the first ingest gone (one per day here), so the second still has rows.
    for (const file of first.files) {
      await copyFile(file, `${file}.backup`);
      await rm(file);
    }
    const missing = first.files[0] ?? '';
    for (const read of [() => fixture.trainingSet(entity, request), stats]) {
      const error = await read().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(MissingCommittedFilesError);
      const { message, hint } = error as MissingCommittedFilesError;
      expect(message).toContain(
        `2 committed data files of source "orders" are missing: ${missing}`,
      );
      expect(message).toContain(
        `ingest ${first.ingestId} (${path.join(fixture.dataDir, 'input-0.jsonl')})`,
      );
      expect(hint).toContain('restore the missing file(s) from a backup');
      expect(hint).toContain('_ingests.jsonl');
      expect(message).not.toContain('No files found');
    }

    // Restored from the backup: the results are what they were.
    for (const file of first.files) {
      await copyFile(`${file}.backup`, file);
      await rm(`${file}.backup`);
    }
    // The latest-row search numbers its temporary tables per process, so the SQL differs only there.
    const sameRun = (result: typeof before) =>
      JSON.parse(
        JSON.stringify({ ...result, elapsedMs: 0 }).replace(/fstore_found_\d+/g, 'fstore_found_N'),
      );
    expect(sameRun(await fixture.trainingSet(entity, request))).toEqual(sameRun(before));
    expect((await stats()).rows).toBe(3);
  });

  it('gives concurrent ingests of one process disjoint fstore_seq ranges', async () => {
    const fixture = await offlineFixture([view]);
    await Promise.all([
      fixture.ingest('orders', rowsOn([1, 2, 3], 1)),
      fixture.ingest('orders', rowsOn([4, 5], 2)),
      fixture.ingest('orders', rowsOn([6, 7, 8, 9], 3)),
    ]);
    const seqs = (await stored(fixture.dataDir)).map((r) => r.fstore_seq);
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(await manifest(fixture.dataDir)).toHaveLength(3);
  });

  it('commits the same content once when two ingests of it run at once: the second sees the first under the write lock', async () => {
    const fixture = await offlineFixture([view]);
    const settled = await Promise.allSettled([
      fixture.ingest('orders', rowsOn([1, 2, 3], 1)),
      fixture.ingest('orders', rowsOn([1, 2, 3], 1)),
    ]);
    expect(settled.map((s) => s.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = settled.find((s) => s.status === 'rejected') as PromiseRejectedResult;
    expect(String(refused.reason)).toContain('was already ingested into "orders"');
    expect(await manifest(fixture.dataDir)).toHaveLength(1);
    expect((await stored(fixture.dataDir)).map((r) => r.fstore_seq)).toEqual([1, 2, 3]);
  });

  it('gives concurrent ingests of two processes disjoint fstore_seq ranges', async () => {
    const defs = await writeDefs({
      'defs.ts': `import { defineEntity, defineFeatureView, defineSource } from 'fstore:definitions';
const customer = defineEntity({ name: 'customer', joinKeys: [{ name: 'customer_id', type: 'string' }] });
const orders = defineSource({ name: 'orders', schema: { customer_id: 'string', amount: 'float64', event_ts: 'timestamp' }, timestampField: 'event_ts' });
export const view = defineFeatureView({ name: 'order_view', entities: [customer], source: orders, features: { amount: 'float64' } });
`,
    });
    const dataDir = await makeTempDir('concurrent-ingest');
    const files = await Promise.all(
      [rowsOn([1, 2, 3], 1), rowsOn([4, 5, 6, 7], 2)].map(async (rows, i) => {
        const file = path.join(dataDir, `input-${i}.jsonl`);
        await writeFile(file, rows.map((r) => JSON.stringify(r)).join('\n'));
        return file;
      }),
    );
    const results = await Promise.all(
      files.map((file) =>
        runFstore([
          '--data-dir',
          dataDir,
          '--defs',
          defs,
          'ingest',
          '--source',
          'orders',
          '--file',
          file,
        ]),
      ),
    );
    for (const result of results) expect(result.code, result.stderr).toBe(0);
    const seqs = (await stored(dataDir)).map((r) => r.fstore_seq);
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6, 7]);
  }, 60_000);

  it('leaves the staging folder of a running ingest alone and counts a dead one as a leftover', async () => {
    const fixture = await offlineFixture([view]);
    await fixture.ingest('orders', rowsOn([1]));
    const live = stagingDir(fixture.dataDir, 'local', '20260101t000000-00000001');
    const dead = stagingDir(fixture.dataDir, 'local', '20260101t000000-00000002');
    for (const [folder, pid] of [
      [live, process.ppid],
      [dead, 2 ** 22 + 12345],
    ] as const) {
      await mkdir(path.join(folder, 'data'), { recursive: true });
      await writeFile(path.join(folder, 'owner.json'), JSON.stringify({ pid }));
    }
    await appendFile(path.join(dead, 'data', 'x.parquet'), 'x'.repeat(100));
    const scan = await findIngestLeftovers(offlineRoot(fixture.dataDir, 'local'));
    expect(scan.running).toEqual([{ ingestId: path.basename(live), pid: process.ppid }]);
    expect(scan.leftovers).toEqual([
      {
        kind: 'staging folder',
        path: dead,
        bytes: expect.any(Number),
        ingestId: path.basename(dead),
      },
    ]);
    expect(scan.leftovers[0]?.bytes).toBeGreaterThanOrEqual(100);
  });

  it('counts a running-totals temporary as a leftover when its build process is gone (or, unnamed, idle for an hour), and --fix removes only those', async () => {
    const fixture = await offlineFixture([view]);
    await fixture.ingest('orders', rowsOn([1]));
    const root = offlineRoot(fixture.dataDir, 'local');
    const dir = runningTotalsDir(root, 'orders');
    await mkdir(dir, { recursive: true });
    const built = path.join(dir, '0123456789abcdef-fedcba9876543210.parquet');
    await writeFile(built, 'built totals');
    const write = async (name: string, bytes: number, ageMs = 0) => {
      const file = path.join(dir, name);
      await writeFile(file, 'x'.repeat(bytes));
      const at = new Date(Date.now() - ageMs);
      await utimes(file, at, at);
      return file;
    };
    const name = (pid: number) => path.basename(runningTotalsTemporary(built, pid));
    const hour = 60 * 60_000;
    const killedBuild = await write(name(2 ** 22 + 12345), 300);
    const otherBuild = await write(name(process.ppid), 10, 2 * hour);
    const ownBuild = await write(name(process.pid), 10);
    const unnamedOld = await write(
      `${path.basename(built)}.${crypto.randomUUID()}.partial`,
      40,
      2 * hour,
    );
    const unnamedFresh = await write(`${path.basename(built)}.${crypto.randomUUID()}.partial`, 40);

    const { leftovers } = await findIngestLeftovers(root);
    expect(leftovers.map((l) => [l.kind, l.path, l.bytes]).sort()).toEqual(
      [
        ['running-totals temporary', killedBuild, 300],
        ['running-totals temporary', unnamedOld, 40],
      ].sort(),
    );

    await removeIngestLeftovers(root, ingestLockPath(fixture.dataDir, 'local'), 'store');
    expect((await readdir(dir)).sort()).toEqual(
      [built, otherBuild, ownBuild, unnamedFresh].map((f) => path.basename(f)).sort(),
    );
    expect((await findIngestLeftovers(root)).leftovers).toEqual([]);
  });
});
