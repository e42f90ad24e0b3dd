import { beforeEach, describe, expect, it } from 'vitest';
import { readS3CommittedSources, s3CommittedSeqs } from '../../lib/offline/s3-committed-ingests.ts';
import { compactionLockKey } from '../../lib/offline/s3-compact-record.ts';
import { acquireS3Lock } from '../../lib/offline/s3-lock.ts';
import { createS3Snapshot, listS3Snapshots } from '../../lib/offline/s3-snapshots.ts';
import { useS3CompactionFixture } from '../helpers/s3-compaction-fixture.ts';

// A snapshot create holds its sources' compaction locks until its object is written; a run
// that took a lock over meanwhile (--break-lock) may delete rows the snapshot pins.
const fixture = useS3CompactionFixture('s3-snapshot-lost-lock');
const store = () => ({ s3: fixture.s3, bucket: fixture.bucket.name, env: 'dev' });
const id = '20260308t000000-0a1b2c3d';

beforeEach(async () => {
  fixture.bucket.objects.clear();
  await fixture.commitIngest(0, id, [[`offline/orders/dt=2026-03-08/${id}-0.parquet`, [1, 2]]]);
});

describe('a snapshot create whose source lock is taken over before its write', () => {
  it('is refused naming the lost lock and leaves no snapshot for training sets to read', async () => {
    const made = await createS3Snapshot(
      store(),
      { name: 'taken', sources: ['orders'] },
      async (sources) => {
        const lock = JSON.parse(
          String(fixture.bucket.objects.get(compactionLockKey('orders'))),
        ) as { owner: string };
        await acquireS3Lock({
          s3: fixture.s3,
          bucket: fixture.bucket.name,
          key: compactionLockKey('orders'),
          purpose: 'the retention of source "orders"',
          leaseMs: 300_000,
          breakOwner: lock.owner,
        });
        return s3CommittedSeqs(
          await readS3CommittedSources(fixture.s3, fixture.bucket.name, sources),
        );
      },
    ).catch((e: unknown) => e);
    expect(made).toBeInstanceOf(Error);
    expect((made as Error).message).toContain('the snapshot "taken" was not kept');
    expect((made as { hint?: string }).hint).toContain('create it again');
    expect(await listS3Snapshots(store())).toEqual([]);
  });
});
