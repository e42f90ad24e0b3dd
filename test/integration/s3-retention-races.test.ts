import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { S3IngestTarget } from '../../lib/offline/s3-ingest-target.ts';
import { S3LockHeldError } from '../../lib/offline/s3-lock.ts';
import { applyS3Retention, type S3RetentionOptions } from '../../lib/offline/s3-retention.ts';
import { createS3Snapshot, s3SnapshotPins } from '../../lib/offline/s3-snapshots.ts';
import { tenDaysOfOrders } from '../helpers/orders-retention-options.ts';
import { retentionNow, useRetentionRaceFixture } from '../helpers/retention-race-fixture.ts';
import { ordersDataKey } from '../helpers/s3-compaction-fixture.ts';

// Issue 19: what runs beside the scheduled retention on AWS (a snapshot create, an ingest's
// commit) against the loopback bucket, at the exact point between the run's read of the pins and
// its deletes.
const { fixture, store, committed } = useRetentionRaceFixture('s3-retention-races');
const now = retentionNow;

const retain = (extra: Partial<S3RetentionOptions> = {}) =>
  applyS3Retention(
    tenDaysOfOrders(fixture.s3, fixture.bucket.name, now, {
      pins: () => s3SnapshotPins(store()),
      ...extra,
    }),
  );

const seqsRead = async () => (await fixture.readable()).map((r) => Number(r.fstore_seq)).sort();

describe('a snapshot created while the AWS retention runs', () => {
  it('is refused naming the retention and --break-lock, or keeps every row it pins (never pins deleted rows)', async () => {
    let made: unknown;
    const result = await retain({
      pins: async () => {
        const pins = await s3SnapshotPins(store());
        // Between the run's read of the pins and its deletes.
        made = await createS3Snapshot(
          store(),
          { name: 'late', sources: ['orders'] },
          committed,
        ).catch((e: unknown) => e);
        return pins;
      },
    });
    expect(made).toBeInstanceOf(Error);
    expect((made as Error).message).toContain(
      'cannot run now: the retention of source "orders" is already running; the lock s3://offline-bucket/offline/_ingests/orders/compactions/_lock.json is held by owner',
    );
    expect((made as { hint?: string }).hint).toContain('--break-lock');
    expect(result.objectsDeleted).toBe(2);
    expect(await seqsRead()).toEqual([4]);
    expect(await s3SnapshotPins(store())).toEqual([]);
  });

  it('made after the run, pins what the run left; the next run keeps those rows', async () => {
    await retain();
    const made = await createS3Snapshot(store(), { name: 'after', sources: ['orders'] }, committed);
    expect(Object.keys(made.sources)).toEqual(['orders']);
    await fixture.commitIngest(3, '20260316t000000-3d4e5f60', [
      [ordersDataKey('2026-03-07', '20260316t000000-3d4e5f60'), [5]],
    ]);
    // Seq 5 is past the pin (4): a backfill the snapshot does not pin goes.
    const again = await retain();
    expect(again).toMatchObject({ objectsDeleted: 1, keptFor: [] });
    expect(await seqsRead()).toEqual([4]);
  });
});

/** An `fstore ingest --env` of one object of rows `seqs` into partition `dt` (a backfill). */
async function backfill(dt: string, id: string, seqs: readonly number[], waitMs = 10_000) {
  const staging = path.join(fixture.scratch, `staging-${id}`);
  await mkdir(path.join(staging, `dt=${dt}`), { recursive: true });
  await writeFile(
    path.join(staging, `dt=${dt}`, `${id}-0.parquet`),
    await fixture.committedParquet(seqs),
  );
  const target = new S3IngestTarget(fixture.s3, fixture.bucket.name, Date.now, {
    waitMs,
    pollMs: 10,
  });
  const published = await target.publish('orders', staging);
  return {
    key: ordersDataKey(dt, id),
    commit: () =>
      target.commit(
        {
          ingestId: id,
          source: 'orders',
          file: 'backfill.csv',
          sha256: '9'.repeat(64),
          rows: seqs.length,
          firstSeq: Math.min(...seqs),
          at: new Date().toISOString(),
        },
        published,
      ),
  };
}

describe('an fstore ingest --env committing while the AWS retention runs', () => {
  it('keeps its rows, even those past the retention: its commit waits for the run, which leaves its uploads alone', async () => {
    let committing: Promise<unknown> = Promise.resolve();
    let uploaded = '';
    const result = await retain({
      pins: async () => {
        // Uploaded and committing between the run's read of the pins and its listing.
        const ingest = await backfill('2026-03-07', '20260320t000000-4e5f6071', [5, 6]);
        uploaded = ingest.key;
        committing = ingest.commit();
        // The commit either lands now (no lock) or waits for the run.
        await Promise.race([committing, new Promise((r) => setTimeout(r, 500))]);
        return s3SnapshotPins(store());
      },
    });
    await committing;
    expect(result.objectsDeleted).toBe(2);
    expect(fixture.bucket.objects.has(uploaded)).toBe(true);
    expect(await seqsRead()).toEqual([4, 5, 6]);
    // The next run deletes the backfill's rows past the retention, as any other.
    await retain();
    expect(await seqsRead()).toEqual([4]);
  });

  it('is refused naming the retention and --break-lock when it may not wait, nothing committed', async () => {
    let refused: unknown;
    await retain({
      pins: async () => {
        const ingest = await backfill('2026-03-16', '20260320t000000-5f607182', [7], 0);
        refused = await ingest.commit().catch((e: unknown) => e);
        return [];
      },
    });
    expect(refused).toBeInstanceOf(S3LockHeldError);
    expect((refused as Error).message).toContain(
      'the commit of ingest 20260320t000000-5f607182 into source "orders" cannot run now: the retention of source "orders" is already running',
    );
    expect((refused as S3LockHeldError).hint).toContain('--break-lock');
    expect(await seqsRead()).toEqual([4]);
  });

  it('deletes an upload no record names once it is a day old (a killed ingest’s leftover), not before', async () => {
    const leftover = ordersDataKey('2026-03-06', '20260306t000000-60718293');
    fixture.bucket.objects.set(leftover, await fixture.committedParquet([9]));
    fixture.bucket.modified.set(leftover, new Date(now - 3_600_000));
    expect(await retain()).toMatchObject({ objectsDeleted: 2 });
    expect(fixture.bucket.objects.has(leftover)).toBe(true);
    fixture.bucket.modified.set(leftover, new Date(now - 25 * 3_600_000));
    expect(await retain()).toMatchObject({ objectsDeleted: 1 });
    expect(fixture.bucket.objects.has(leftover)).toBe(false);
  });
});
