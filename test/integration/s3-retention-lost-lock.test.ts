import { describe, expect, it } from 'vitest';
import { compactionLockKey } from '../../lib/offline/s3-compact-record.ts';
import { S3LockLostError } from '../../lib/offline/s3-lock.ts';
import { applyS3Retention } from '../../lib/offline/s3-retention.ts';
import {
  createS3Snapshot,
  listS3Snapshots,
  s3SnapshotPins,
} from '../../lib/offline/s3-snapshots.ts';
import { tenDaysOfOrders } from '../helpers/orders-retention-options.ts';
import { retentionNow, useRetentionRaceFixture } from '../helpers/retention-race-fixture.ts';

// The AWS retention holds the source's compaction lock from its read of the snapshots to its
// deletes; a snapshot create that took the lock over meanwhile (--break-lock, as its refusal
// suggests when the holder looks gone) pins rows the run read no pin for.
const { fixture, store, committed } = useRetentionRaceFixture('s3-retention-lost-lock');
const now = retentionNow;

describe('the AWS retention whose lock is taken over after its read of the pins', () => {
  it('stops before its deletes with S3LockLostError, keeping the rows the new snapshot pins', async () => {
    const result = await applyS3Retention(
      tenDaysOfOrders(fixture.s3, fixture.bucket.name, now, {
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
      }),
    ).catch((e: unknown) => e);
    expect(result).toBeInstanceOf(S3LockLostError);
    expect((await listS3Snapshots(store())).map((s) => s.name)).toEqual(['late']);
    const seqs = (await fixture.readable()).map((r) => Number(r.fstore_seq)).sort();
    expect(seqs).toEqual([1, 2, 3, 4]);
  });
});
