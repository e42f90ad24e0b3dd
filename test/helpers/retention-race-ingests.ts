import { readS3CommittedSources, s3CommittedSeqs } from '../../lib/offline/s3-committed-ingests.ts';
import { ordersDataKey, type S3CompactionFixture } from './s3-compaction-fixture.ts';

/**
 * What the tests of runs racing the AWS retention start from: three committed ingests of
 * `orders`, dt=2026-03-08 (seqs 1, 2), 2026-03-09 (3) and 2026-03-15 (4). Kept 10 days from
 * 2026-03-20T12:00:00Z (`retentionNow`), the first two days are wholly older.
 */
export const retentionNow = Date.parse('2026-03-20T12:00:00Z');

export const retentionIngestIds = [
  '20260308t000000-0a1b2c3d',
  '20260309t000000-1b2c3d4e',
  '20260315t000000-2c3d4e5f',
] as const;

export async function commitRetentionIngests(fixture: S3CompactionFixture): Promise<void> {
  const [first, second, third] = retentionIngestIds;
  await fixture.commitIngest(0, first, [[ordersDataKey('2026-03-08', first), [1, 2]]]);
  await fixture.commitIngest(1, second, [[ordersDataKey('2026-03-09', second), [3]]]);
  await fixture.commitIngest(2, third, [[ordersDataKey('2026-03-15', third), [4]]]);
}

/** The snapshot store (environment `dev`) of the fixture's bucket. */
export const snapshotStoreOf = (fixture: S3CompactionFixture) => ({
  s3: fixture.s3,
  bucket: fixture.bucket.name,
  env: 'dev',
});

/** The committed seqs of `sources` as a snapshot create reads them from the fixture's bucket. */
export const committedSeqsOf =
  (fixture: S3CompactionFixture) => async (sources: readonly string[]) =>
    s3CommittedSeqs(await readS3CommittedSources(fixture.s3, fixture.bucket.name, sources));
