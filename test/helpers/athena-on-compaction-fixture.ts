import { afterAll, beforeAll } from 'vitest';
import { athenaOnMemoryBucket } from './athena-on-memory-bucket.ts';
import type { S3CompactionFixture } from './s3-compaction-fixture.ts';

/**
 * Athena answering from the fixture's bucket objects of `orders` (athenaOnMemoryBucket), its
 * mock installed before the file's tests and restored after them.
 */
export function useAthenaOnCompactionFixture(fixture: S3CompactionFixture) {
  const athena = athenaOnMemoryBucket({
    connection: () => fixture.duckdb.connection,
    bucket: () => fixture.bucket,
    source: 'orders',
    scratch: () => fixture.scratch,
  });
  beforeAll(() => athena.install());
  afterAll(() => athena.restore());
  return athena;
}
