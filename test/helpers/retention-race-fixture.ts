import { beforeEach } from 'vitest';
import { readS3CommittedSources, s3CommittedSeqs } from '../../lib/offline/s3-committed-ingests.ts';
import { ordersDataKey, useS3CompactionFixture } from './s3-compaction-fixture.ts';

/** Kept 10 days from this time, dt=2026-03-08 and 2026-03-09 are wholly older. */
export const retentionNow = Date.parse('2026-03-20T12:00:00Z');

const ids = [
  '20260308t000000-0a1b2c3d',
  '20260309t000000-1b2c3d4e',
  '20260315t000000-2c3d4e5f',
] as const;

/**
 * What the tests of runs racing the AWS retention start from: the S3 compaction fixture whose
 * bucket holds, before each test, three committed ingests of `orders`: dt=2026-03-08 (seqs 1,
 * 2), 2026-03-09 (3) and 2026-03-15 (4). `store()` is its snapshot store (environment `dev`);
 * `committed` reads the committed seqs of sources as a snapshot create does.
 */
export function useRetentionRaceFixture(scratchName: string) {
  const fixture = useS3CompactionFixture(scratchName);
  beforeEach(async () => {
    fixture.bucket.objects.clear();
    const [first, second, third] = ids;
    await fixture.commitIngest(0, first, [[ordersDataKey('2026-03-08', first), [1, 2]]]);
    await fixture.commitIngest(1, second, [[ordersDataKey('2026-03-09', second), [3]]]);
    await fixture.commitIngest(2, third, [[ordersDataKey('2026-03-15', third), [4]]]);
  });
  return {
    fixture,
    store: () => ({ s3: fixture.s3, bucket: fixture.bucket.name, env: 'dev' }),
    committed: async (sources: readonly string[]) =>
      s3CommittedSeqs(await readS3CommittedSources(fixture.s3, fixture.bucket.name, sources)),
  };
}
