import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { applyS3Retention } from '../../lib/offline/s3-retention.ts';
import { runFaultChildOnBucket } from '../helpers/fault-child-process.ts';
import { boundaryRewriteIn, tenDaysOfOrders } from '../helpers/orders-retention-options.ts';
import { useS3CompactionFixture } from '../helpers/s3-compaction-fixture.ts';

// Issue 19: the scheduled retention killed (SIGKILL) after committing its boundary-day rewrite,
// before deleting every version of the objects it replaced: its rerun finds and deletes them.
const fixture = useS3CompactionFixture('s3-retention-crash', { versioned: true });
const now = Date.parse('2026-03-20T12:00:00Z');
const leaseMs = 1500;
const id = '20260310t000000-1b2c3d4e';
// The boundary day (10 March, boundary 12:00): one row older, one not.
const mixed = `offline/orders/dt=2026-03-10/${id}-0.parquet`;

beforeEach(async () => {
  fixture.bucket.objects.clear();
  fixture.bucket.noncurrent.clear();
  fixture.bucket.versionDeletes.length = 0;
  await fixture.commitIngest(1, id, [[mixed, [2, 3]]]);
  const file = path.join(fixture.scratch, 'mixed.parquet');
  await fixture.duckdb.connection.run(
    `COPY (SELECT * FROM (VALUES ('C1', TIMESTAMP '2026-03-10 06:00:00', 2::BIGINT), ('C1', TIMESTAMP '2026-03-10 18:00:00', 3::BIGINT)) t(customer_id, event_ts, fstore_seq)) TO '${file}' (FORMAT parquet)`,
  );
  fixture.bucket.objects.set(mixed, await readFile(file));
});

const retainInChild = (point: string) =>
  runFaultChildOnBucket('retention-aws-child.ts', point, fixture, {
    FSTORE_TEST_NOW: String(now),
    FSTORE_TEST_LEASE_MS: String(leaseMs),
  });

/** The rerun, once the killed run's lease (timed on S3's clock, whole seconds) has run out. */
async function retainAgain() {
  for (let attempt = 0; ; attempt++) {
    try {
      return await applyS3Retention(
        tenDaysOfOrders(fixture.s3, fixture.bucket.name, now, {
          leaseMs,
          boundaryRewrite: boundaryRewriteIn(fixture.scratch),
        }),
      );
    } catch (error) {
      if ((error as Error).name !== 'S3LockHeldError' || attempt > 20) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

const seqsRead = async () => (await fixture.readable()).map((r) => Number(r.fstore_seq));

describe('the AWS retention killed after its boundary-day commit', () => {
  for (const point of ['retention:s3-after-commit']) {
    it(`at ${point}: readers see the rewrite, and the rerun deletes every version of the replaced object`, async () => {
      const killed = await retainInChild(point);
      expect(killed.signal, killed.out).toBe('SIGKILL');
      expect(await seqsRead()).toEqual([3]);
      // Left behind: the replaced object (or its current version), holding the older row.
      expect(fixture.bucket.objects.has(mixed)).toBe(true);
      await retainAgain();
      expect(await seqsRead()).toEqual([3]);
      expect(fixture.bucket.objects.has(mixed)).toBe(false);
      expect(fixture.bucket.noncurrent.get(mixed) ?? []).toEqual([]);
      expect(fixture.bucket.versionDeletes).toContain(mixed);
    }, 120_000);
  }
});
