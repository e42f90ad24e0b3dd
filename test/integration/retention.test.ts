import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../lib/definitions/index.ts';
import { microsOfMillis } from '../../lib/epoch-micros.ts';
import { removeExpiredReplacedFiles } from '../../lib/offline/compact-replaced.ts';
import { isNoFilesError, openDuckdb, queryRows } from '../../lib/offline/duckdb-session.ts';
import { findIngestLeftovers } from '../../lib/offline/ingest-leftovers.ts';
import { readManifest, readManifestState } from '../../lib/offline/ingest-manifest.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { applyRetention, RetentionError } from '../../lib/offline/retention.ts';
import { localSnapshotPins } from '../../lib/offline/retention-pins.ts';
import { createSnapshot, deleteSnapshot } from '../../lib/offline/snapshots.ts';
import { duckdbDialect } from '../../lib/sql/duckdb-dialect.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const orders = defineSource({
  name: 'orders',
  schema: { customer_id: 'string', amount: 'float64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
  retention: '10d',
});
const clicks = defineSource({
  name: 'clicks',
  schema: { customer_id: 'string', page: 'string', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const latest = defineFeatureView({
  name: 'latest_order',
  entities: [customer],
  source: orders,
  features: { amount: 'float64' },
  ttl: '10d',
  online: true,
  schedule: 'rate(1 hour)',
});
const lastPage = defineFeatureView({
  name: 'last_page',
  entities: [customer],
  source: clicks,
  features: { page: 'string' },
  ttl: '30d',
  online: true,
  schedule: 'rate(1 hour)',
});

/** "Now" of every run: noon, so the 10-day boundary falls inside a day partition. */
const now = Date.parse('2026-03-20T12:00:00Z');
const nowMicros = microsOfMillis(now);
const at = (text: string) => `2026-03-${text}Z`;

async function stored(dataDir: string, source: string): Promise<Record<string, unknown>[]> {
  const session = await openDuckdb();
  try {
    const relation = duckdbDialect(offlineRoot(dataDir, 'local')).sourceRelation(source);
    return await queryRows(
      session.connection,
      `SELECT customer_id, CAST(event_ts AS VARCHAR) AS event_ts, fstore_seq FROM ${relation} ORDER BY fstore_seq`,
    ).catch((error: unknown) => {
      if (isNoFilesError(error)) return [];
      throw error;
    });
  } finally {
    session.close();
  }
}

/** Orders on 8, 9 and 10 March (boundary day, 10 March 12:00) and 15 March; clicks on 1 March. */
async function populated() {
  const fixture = await offlineFixture([customer, orders, clicks, latest, lastPage]);
  await fixture.ingest('orders', [
    { customer_id: 'C1', amount: 1, event_ts: at('08T10:00:00') },
    { customer_id: 'C2', amount: 2, event_ts: at('09T23:59:59') },
    { customer_id: 'C3', amount: 3, event_ts: at('10T11:59:59.999999') },
    { customer_id: 'C4', amount: 4, event_ts: at('10T12:00:00') },
  ]);
  await fixture.ingest('orders', [
    { customer_id: 'C5', amount: 5, event_ts: at('10T08:00:00') },
    { customer_id: 'C6', amount: 6, event_ts: at('15T08:00:00') },
  ]);
  await fixture.ingest('clicks', [
    { customer_id: 'C1', page: 'home', event_ts: at('01T00:00:00') },
  ]);
  return fixture;
}

const base = (fixture: Awaited<ReturnType<typeof populated>>) => ({
  registry: fixture.registry,
  dataDir: fixture.dataDir,
  env: 'local',
  pins: [],
  nowMicros,
});

describe('applyRetention (local store)', () => {
  it('deletes whole partitions before the boundary and the older rows of the boundary partition', async () => {
    const fixture = await populated();
    const result = await applyRetention(base(fixture));
    expect(await stored(fixture.dataDir, 'orders')).toEqual([
      { customer_id: 'C4', event_ts: '2026-03-10 12:00:00', fstore_seq: 4 },
      { customer_id: 'C6', event_ts: '2026-03-15 08:00:00', fstore_seq: 6 },
    ]);
    expect(result.sources).toEqual([
      expect.objectContaining({
        source: 'orders',
        retention: '10d',
        from: 'source',
        boundary: '2026-03-10T12:00:00.000000Z',
        partitionsDeleted: ['dt=2026-03-08', 'dt=2026-03-09'],
        rowsDeleted: 4,
        // dt=08 and dt=09 whole; in dt=10, the first ingest's file rewritten, the second's dropped.
        filesDeleted: 3,
        filesRewritten: 1,
      }),
    ]);
    expect(result.sources[0]?.bytesFreed).toBeGreaterThan(0);
    expect(result.keptForever).toEqual(['clicks']);
    expect(await stored(fixture.dataDir, 'clicks')).toHaveLength(1);
    const root = offlineRoot(fixture.dataDir, 'local');
    expect((await findIngestLeftovers(root)).leftovers).toEqual([]);
    // The records stay (sequence numbers are never handed out again); only their files change.
    const records = (await readManifest(root)) ?? [];
    expect(records.map((r) => [r.source, r.rows, r.firstSeq])).toEqual([
      ['orders', 4, 1],
      ['orders', 2, 5],
      ['clicks', 1, 7],
    ]);
  });

  it('keeps the files it replaced for a read planned before its commit, until a later write after keepUntil', async () => {
    const fixture = await populated();
    const root = offlineRoot(fixture.dataDir, 'local');
    // A training set lists the committed files when it renders its SQL and opens them later,
    // taking no lock: render now, read after the retention's commit.
    const planned = duckdbDialect(root).sourceRelation('orders');
    const result = await applyRetention(base(fixture));
    const session = await openDuckdb();
    try {
      const rows = await queryRows(session.connection, `SELECT count(*) AS n FROM ${planned}`);
      expect(Number(rows[0]?.n)).toBe(6);
    } finally {
      session.close();
    }
    const replaced = (await readManifestState(root))?.replaced ?? [];
    expect(replaced).toHaveLength(1);
    const [entry] = replaced;
    expect(entry?.replacedBy).toBe(result.rewriteId);
    expect(entry?.files).toHaveLength(4);
    expect(Date.parse(entry?.keepUntil ?? '')).toBeGreaterThan(Date.parse(entry?.at ?? ''));
    expect((await findIngestLeftovers(root)).leftovers).toEqual([]);
    const emptied = path.join(root, 'orders', 'dt=2026-03-08');
    expect(existsSync(emptied)).toBe(true);
    // The next write after keepUntil deletes them (ingest, compaction and rewrites call this).
    const later = Date.parse(entry?.keepUntil ?? '') + 1;
    const expired = await removeExpiredReplacedFiles(root, 'later-write', later);
    expect(expired.removed).toHaveLength(4);
    for (const file of expired.removed) expect(existsSync(file)).toBe(false);
    expect((await readManifestState(root))?.replaced).toEqual([]);
    expect(existsSync(emptied)).toBe(false);
    expect(await stored(fixture.dataDir, 'orders')).toHaveLength(2);
  });

  it('changes nothing on a second run (idempotent)', async () => {
    const fixture = await populated();
    await applyRetention(base(fixture));
    const before = await stored(fixture.dataDir, 'orders');
    const again = await applyRetention(base(fixture));
    expect(again.rewriteId).toBeUndefined();
    expect(again.sources[0]).toMatchObject({ rowsDeleted: 0, filesDeleted: 0, bytesFreed: 0 });
    expect(await stored(fixture.dataDir, 'orders')).toEqual(before);
  });

  it('reports what a dry run would free and changes nothing', async () => {
    const fixture = await populated();
    const root = offlineRoot(fixture.dataDir, 'local');
    const files = async () =>
      (await readdir(path.join(root, 'orders'), { recursive: true })).sort();
    const before = await files();
    const dry = await applyRetention({ ...base(fixture), dryRun: true });
    expect(dry.dryRun).toBe(true);
    expect(dry.sources[0]).toMatchObject({ rowsDeleted: 4, filesDeleted: 3, filesRewritten: 1 });
    expect(await files()).toEqual(before);
    expect(await stored(fixture.dataDir, 'orders')).toHaveLength(6);
  });

  it('applies the environment default to sources without a retention of their own', async () => {
    const fixture = await populated();
    const result = await applyRetention({ ...base(fixture), defaultRetentionSeconds: 30 * 86_400 });
    expect(result.keptForever).toEqual([]);
    expect(result.sources.find((s) => s.source === 'clicks')).toMatchObject({
      from: 'environment',
      retention: '30d',
      rowsDeleted: 0,
    });
    const shorter = await applyRetention({
      ...base(fixture),
      source: 'clicks',
      defaultRetentionSeconds: 30 * 86_400,
      nowMicros: microsOfMillis(now + 12 * 86_400_000),
    });
    expect(shorter.sources).toEqual([
      expect.objectContaining({
        source: 'clicks',
        rowsDeleted: 1,
        partitionsDeleted: ['dt=2026-03-01'],
      }),
    ]);
    expect(await stored(fixture.dataDir, 'clicks')).toEqual([]);
  });

  it("refuses an environment default shorter than a view's ttl, deleting nothing", async () => {
    const fixture = await populated();
    await expect(
      applyRetention({ ...base(fixture), defaultRetentionSeconds: 8 * 86_400 }),
    ).rejects.toThrow(
      /view "last_page" ttl: ttl "30d" is longer than the environment's default retention "8d".*nothing was deleted/,
    );
    expect(await stored(fixture.dataDir, 'orders')).toHaveLength(6);
  });

  it('keeps the rows a snapshot pins and deletes the other older rows, unless forced', async () => {
    const fixture = await populated();
    // Older rows: seqs 1 (dt=08), 2 (dt=09), 3 and 5 (dt=10); v1_baseline pins 1-2.
    const pins = [{ snapshot: 'v1_baseline', source: 'orders', throughSeq: 2n }];
    const kept = await applyRetention({ ...base(fixture), pins });
    expect(kept.sources[0]).toMatchObject({
      rowsDeleted: 2,
      rowsKept: 2,
      keptFor: ['v1_baseline'],
      pinnedBy: [],
      partitionsDeleted: [],
    });
    expect((await stored(fixture.dataDir, 'orders')).map((r) => Number(r.fstore_seq))).toEqual([
      1, 2, 4, 6,
    ]);
    // A pin on another source does not hold this one back.
    const free = await applyRetention({
      ...base(fixture),
      dryRun: true,
      pins: [{ snapshot: 'other', source: 'clicks', throughSeq: 1n }],
    });
    expect(free.sources[0]).toMatchObject({ rowsDeleted: 2, rowsKept: 0, keptFor: [] });
    const forced = await applyRetention({ ...base(fixture), pins, force: true });
    expect(forced.sources[0]).toMatchObject({
      pinnedBy: ['v1_baseline'],
      rowsDeleted: 2,
      rowsKept: 0,
    });
    expect(await stored(fixture.dataDir, 'orders')).toHaveLength(2);
  });

  it('refuses the rows of a snapshot created while it runs, reading the pins again before its commit', async () => {
    const fixture = await populated();
    let reads = 0;
    const pins = async () => {
      const read = await localSnapshotPins(fixture.dataDir, 'local');
      // Another process creates a snapshot right after this run's first read of the pins.
      if (reads++ === 0)
        await createSnapshot(fixture.dataDir, 'local', { name: 'mid_run', sources: ['orders'] });
      return read;
    };
    const refused = applyRetention({ ...base(fixture), pins });
    await expect(refused).rejects.toBeInstanceOf(RetentionError);
    await expect(refused).rejects.toThrow('"orders" (snapshot "mid_run"); nothing was deleted');
    expect(reads).toBe(2);
    expect(await stored(fixture.dataDir, 'orders')).toHaveLength(6);
    const root = offlineRoot(fixture.dataDir, 'local');
    expect((await findIngestLeftovers(root)).leftovers).toEqual([]);
  });

  it('makes a snapshot created after its last read of the pins wait for its commit (the snapshot never sees rows the commit then deletes)', async () => {
    const fixture = await populated();
    let reads = 0;
    let creating: Promise<number> = Promise.resolve(0);
    const pins = async () => {
      const read = await localSnapshotPins(fixture.dataDir, 'local');
      // Another process creates a snapshot right after the read before the commit: the rows it
      // sees when its create returns must be the rows it reads later.
      if (reads++ === 1)
        creating = createSnapshot(fixture.dataDir, 'local', {
          name: 'late',
          sources: ['orders'],
        }).then(async () => (await stored(fixture.dataDir, 'orders')).length);
      // It lands now unless something holds it back; the run goes on either way.
      await Promise.race([creating, new Promise((resolve) => setTimeout(resolve, 1000))]);
      return read;
    };
    await applyRetention({ ...base(fixture), pins });
    expect(reads).toBe(2);
    const seenAtCreate = await creating;
    expect(seenAtCreate).toBe((await stored(fixture.dataDir, 'orders')).length);
    expect(seenAtCreate).toBe(2);
  });

  it('keeps the rows of a snapshot made with fstore snapshot create, until it is deleted', async () => {
    const fixture = await populated();
    await createSnapshot(fixture.dataDir, 'local', { name: 'v1_baseline', sources: ['orders'] });
    await createSnapshot(fixture.dataDir, 'local', { name: 'clicks_only', sources: ['clicks'] });
    const pins = await localSnapshotPins(fixture.dataDir, 'local');
    expect(pins).toEqual(
      expect.arrayContaining([{ snapshot: 'v1_baseline', source: 'orders', throughSeq: 6n }]),
    );
    expect((await applyRetention({ ...base(fixture), pins })).sources[0]).toMatchObject({
      rowsDeleted: 0,
      rowsKept: 4,
      keptFor: ['v1_baseline'],
    });
    expect(await stored(fixture.dataDir, 'orders')).toHaveLength(6);
    await deleteSnapshot(fixture.dataDir, 'local', 'v1_baseline');
    const after = await applyRetention({
      ...base(fixture),
      pins: await localSnapshotPins(fixture.dataDir, 'local'),
    });
    expect(after.sources[0]).toMatchObject({ rowsDeleted: 4, pinnedBy: [] });
  });
});
