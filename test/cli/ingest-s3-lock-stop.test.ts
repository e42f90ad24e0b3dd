import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compactionLockKey } from '../../lib/offline/s3-compact-record.ts';
import { holdLockAsRetention } from '../helpers/retention-lock-holder.ts';
import { makeTempDir, spawnFstore, writeDefs } from '../helpers/run-fstore.ts';
import { type MemoryBucket, startMemoryBucket } from '../helpers/s3-memory-bucket.ts';
import { scoresDefs } from '../helpers/scores-on-s3.ts';

// An `fstore ingest --env <aws>` waiting for the source's lock (--lock-wait, default 300 s) is
// before its commit point: a stop request must end the wait there, not after the whole wait.
let bucket: MemoryBucket;
let dir: string;
let defsDir: string;
const lockKey = compactionLockKey('scores');

beforeAll(async () => {
  bucket = await startMemoryBucket('offline-bucket');
  defsDir = await writeDefs({ 'defs.ts': scoresDefs });
  dir = await makeTempDir('ingest-s3-lock-stop');
  await writeFile(
    path.join(dir, 'scores.csv'),
    'customer_id,score,event_ts\nC1,7,2025-01-05T00:00:00Z\n',
  );
}, 60_000);
afterAll(() => bucket.close());

describe('fstore ingest --env <aws> stopped while it waits for the source’s lock', () => {
  it('stops waiting at SIGTERM, exits 143, commits nothing and deletes its uploads', async () => {
    const holder = holdLockAsRetention(bucket, 'scores');
    const run = spawnFstore(
      [
        ...['--defs', defsDir, '--data-dir', dir, '--env', 'dev', 'ingest', '--source', 'scores'],
        ...['--file', path.join(dir, 'scores.csv'), '--bucket', 'offline-bucket'],
        ...['--lock-wait', '600'],
      ],
      {
        env: {
          ...bucket.env,
          AWS_REGION: 'eu-west-1',
          AWS_ACCESS_KEY_ID: 'test',
          AWS_SECRET_ACCESS_KEY: 'test',
        },
      },
    );
    try {
      for (let i = 0; i < 900 && !run.stderr().includes('waits up to'); i++)
        await new Promise((resolve) => setTimeout(resolve, 100));
      expect(run.stderr()).toContain('waits up to 600 s');
      run.kill('SIGTERM');
      // Far less than the 600 s it would wait otherwise; one poll (2 s) is all it may take.
      const code = await Promise.race([
        run.exited,
        new Promise((resolve) => setTimeout(() => resolve('still waiting'), 30_000)),
      ]);
      expect(code, run.stderr()).toBe(143);
      const keys = [...bucket.objects.keys()];
      expect(keys.filter((k) => k.startsWith('offline/scores/'))).toEqual([]);
      expect(keys.filter((k) => k.startsWith('offline/_ingests/scores/'))).toEqual([lockKey]);
      expect(JSON.parse(bucket.objects.get(lockKey)?.toString() ?? '{}').owner).toBe(holder.owner);
    } finally {
      run.kill('SIGKILL');
    }
  }, 180_000);
});
