import type { AthenaClient } from '@aws-sdk/client-athena';
import { eraseEntitiesOnAws } from '../../lib/erasure/erase-entities-aws.ts';
import { awsEraseOfC1, fixtureErasePlace } from './aws-erase-options.ts';
import { runFaultChildOnBucket } from './fault-child-process.ts';
import type { S3CompactionFixture } from './s3-compaction-fixture.ts';

/**
 * The delete of customer C1 on the fixture's bucket with lease `leaseMs`: `inChild(point)` runs it
 * in a process of its own (erase-aws-child.ts) that FSTORE_FAULT kills at `point`; `here()` runs
 * it in the test's process, as the rerun after the kill.
 */
export function killableEraseOfC1(
  fixture: S3CompactionFixture,
  athena: { client(): AthenaClient },
  leaseMs: number,
) {
  return {
    inChild: (point: string) =>
      runFaultChildOnBucket('erase-aws-child.ts', point, fixture, {
        FSTORE_TEST_LEASE_MS: String(leaseMs),
      }),
    here: () => eraseEntitiesOnAws(awsEraseOfC1(fixtureErasePlace(fixture, athena), { leaseMs })),
  };
}
