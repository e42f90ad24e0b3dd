import { beforeEach, describe, expect, it } from 'vitest';
import { microsOfMillis } from '../../lib/epoch-micros.ts';
import { readS3CommittedSources, s3CommittedSeqs } from '../../lib/offline/s3-committed-ingests.ts';
import { compactionLockKey } from '../../lib/offline/s3-compact-record.ts';
import { S3LockLostError } from '../../lib/offline/s3-lock.ts';
import { applyS3Retention } from '../../lib/offline/s3-retention.ts';
import {
  createS3Snapshot,
  listS3Snapshots,
  s3SnapshotPins,
} from '../../lib/offline/s3-snapshots.ts';
import { useS3CompactionFixture } from '../helpers/s3-compaction-fixture.ts';

// The AWS retention holds the source's compaction lock from its read of the snapshots to its
// deletes; a snapshot create that took the lock over meanwhile (--break-lock, as its refusal
// suggests when the holder looks gone) pins rows the run read no pin for.
const fixture = useS3CompactionFixture('s3-retention-lost-lock');
const now = Date.parse('2026-03-20T12:00:00Z');
const ids = ['20260308t000000-0a1b2c3d', '20260309t000000-1b2c3d4e', '20260315t000000-2c3d4e5f'];
const key = (dt: string, id: string) => `offline/orders/dt=${dt}/${id}-0.parquet`;
const store = () => ({ s3: fixture.s3, bucket: fixture.bucket.name, env: 'dev' });
const committed = async (sources: readonly string[]) =>
  s3CommittedSeqs(await readS3CommittedSources(fixture.s3, fixture.bucket.name, sources));

beforeEach(async () => {
  fixture.bucket.objects.clear();
  await fixture.commitIngest(0, ids[0] as string, [[key('2026-03-08', ids[0] as string), [1, 2]]]);
  await fixture.commitIngest(1, ids[1] as string, [[key('2026-03-09', ids[1] as string), [3]]]);
  await fixture.commitIngest(2, ids[2] as string, [[key('2026-03-15', ids[2] as string), [4]]]);
});

describe('the AWS retention whose lock is taken over after its read of the pins', () => {
  it('stops before its deletes with S3LockLostError, keeping the rows the new snapshot pins', async () => {
    const result = await applyS3Retention({
      s3: fixture.s3,
      bucket: fixture.bucket.name,
      source: 'orders',
      prefix: 'offline/orders/',
      retentionSeconds: 10 * 86_400,
      nowMicros: microsOfMillis(now),
      now: () => new Date(now),
      pins: async () => {
        const pins = await s3SnapshotPins(store());
        const holder = JSON.parse(
          String(fixture.bucket.objects.get(compactionLockKey('orders'))),
        ) as { owner: string };
        await createS3Snapshot(store(), { name: 'late', sources: ['orders'] }, committed, {
          breakOwner: holder.owner,
        });
        return pins;
      },
    }).catch((e: unknown) => e);
    expect(result).toBeInstanceOf(S3LockLostError);
    expect((await listS3Snapshots(store())).map((s) => s.name)).toEqual(['late']);
    const seqs = (await fixture.readable()).map((r) => Number(r.fstore_seq)).sort();
    expect(seqs).toEqual([1, 2, 3, 4]);
  });
});
