import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { microsOfMillis } from '../../lib/epoch-micros.ts';
import { applyS3Retention } from '../../lib/offline/s3-retention.ts';
import { rewriteS3Objects } from '../../lib/offline/s3-rewrite-objects.ts';
import { repoRoot } from '../helpers/run-fstore.ts';
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

function retainInChild(point: string): Promise<{ signal: NodeJS.Signals | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(repoRoot, 'test', 'helpers', 'retention-aws-child.ts')],
      {
        cwd: repoRoot,
        env: {
          ...process.env,
          ...fixture.bucket.env,
          FSTORE_FAULT: point,
          FSTORE_TEST_BUCKET: fixture.bucket.name,
          FSTORE_TEST_SCRATCH: fixture.scratch,
          FSTORE_TEST_NOW: String(now),
          FSTORE_TEST_LEASE_MS: String(leaseMs),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.stderr.on('data', (chunk) => {
      out += chunk;
    });
    child.on('error', reject);
    child.on('close', (_code, signal) => resolve({ signal, out }));
  });
}

/** The rerun, once the killed run's lease (timed on S3's clock, whole seconds) has run out. */
async function retainAgain() {
  for (let attempt = 0; ; attempt++) {
    try {
      return await applyS3Retention({
        s3: fixture.s3,
        bucket: fixture.bucket.name,
        source: 'orders',
        prefix: 'offline/orders/',
        retentionSeconds: 10 * 86_400,
        nowMicros: microsOfMillis(now),
        pins: [],
        now: () => new Date(now),
        leaseMs,
        boundaryRewrite: {
          rewrite: rewriteS3Objects,
          region: 'eu-west-1',
          timestampField: 'event_ts',
          workDir: fixture.scratch,
        },
      });
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
