import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { compactionLockKey } from '../../lib/offline/s3-compact-record.ts';
import { fstoreOnBucket } from '../helpers/fstore-on-bucket.ts';
import { holdLockAsRetention } from '../helpers/retention-lock-holder.ts';
import { makeTempDir, writeDefs } from '../helpers/run-fstore.ts';
import { type MemoryBucket, startMemoryBucket } from '../helpers/s3-memory-bucket.ts';
import { scoresDefs } from '../helpers/scores-on-s3.ts';

// `fstore ingest --env <aws>` commits under the source's compaction lock (issue 19): while a
// retention or delete holds it, the commit waits (--lock-wait) or is refused, committing nothing.
let bucket: MemoryBucket;
let dir: string;
let fstore: ReturnType<typeof fstoreOnBucket>;
const lockKey = compactionLockKey('scores');

beforeAll(async () => {
  bucket = await startMemoryBucket('offline-bucket');
  const defsDir = await writeDefs({ 'defs.ts': scoresDefs });
  dir = await makeTempDir('ingest-s3-lock');
  await writeFile(
    path.join(dir, 'scores.csv'),
    'customer_id,score,event_ts\nC1,7,2025-01-05T00:00:00Z\nC2,9,2025-01-06T00:00:00Z\n',
  );
  fstore = fstoreOnBucket(bucket, defsDir, dir);
}, 60_000);
afterAll(() => bucket.close());
beforeEach(() => {
  bucket.objects.clear();
  bucket.beforeRequest = undefined;
});

const ingest = (...extra: string[]) =>
  fstore(
    'ingest',
    '--source',
    'scores',
    '--file',
    path.join(dir, 'scores.csv'),
    '--bucket',
    'offline-bucket',
    ...extra,
  );
const dataKeys = () => [...bucket.objects.keys()].filter((k) => k.startsWith('offline/scores/'));
const recordKeys = () =>
  [...bucket.objects.keys()].filter(
    (k) => k.startsWith('offline/_ingests/scores/') && !k.includes('/compactions/'),
  );

describe('fstore ingest --env <aws> while a retention holds the source’s lock (loopback S3)', () => {
  it('is refused with --lock-wait 0 naming the holder and --break-lock; its uploads are deleted, nothing committed', async () => {
    holdLockAsRetention(bucket, 'scores');
    const refused = await ingest('--lock-wait', '0');
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stderr).toContain(
      'cannot run now: the retention of source "scores" is already running',
    );
    expect(refused.stderr).toContain('held by owner a1b2c3d4e5f6 (host lambda-1, pid 8');
    expect(refused.stderr).toContain('--break-lock a1b2c3d4e5f6');
    expect(dataKeys()).toEqual([]);
    expect(recordKeys()).toEqual([]);
    expect(JSON.parse(bucket.objects.get(lockKey)?.toString() ?? '{}').owner).toBe('a1b2c3d4e5f6');
  }, 120_000);

  it('waits for the holder to release, saying so once, then commits and releases the lock', async () => {
    holdLockAsRetention(bucket, 'scores');
    let reads = 0;
    bucket.beforeRequest = (method, key) => {
      // The retention ends after the ingest has read its lock twice.
      if (method === 'GET' && key === lockKey && ++reads === 2) bucket.objects.delete(lockKey);
      return undefined;
    };
    const done = await ingest('--lock-wait', '60');
    expect(done.code, done.stderr).toBe(0);
    expect(done.stderr.match(/waits up to 60 s for the lock/g), done.stderr).toHaveLength(1);
    expect(recordKeys()).toHaveLength(1);
    expect(dataKeys()).toHaveLength(2); // one object per day
    expect(bucket.objects.has(lockKey)).toBe(false);
  }, 120_000);

  it('refuses --break-lock that names no owner, before any S3 request', async () => {
    const before = bucket.requests.length;
    const bad = await ingest('--break-lock', 'me');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--break-lock must name the lock');
    expect(bucket.requests.slice(before)).toEqual([]);
  }, 120_000);
});
