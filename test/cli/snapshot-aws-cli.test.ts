import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s3SnapshotsPrefix } from '../../lib/offline/s3-snapshots.ts';
import { fstoreOnBucket } from '../helpers/fstore-on-bucket.ts';
import { holdLockAsRetention } from '../helpers/retention-lock-holder.ts';
import { makeTempDir, writeDefs } from '../helpers/run-fstore.ts';
import { type MemoryBucket, startMemoryBucket } from '../helpers/s3-memory-bucket.ts';
import { scoresDefs, scoresRecord } from '../helpers/scores-on-s3.ts';

let bucket: MemoryBucket;
let fstore: ReturnType<typeof fstoreOnBucket>;

beforeAll(async () => {
  bucket = await startMemoryBucket('offline-bucket', { pageSize: 2 });
  for (const [id, first, rows] of [
    ['20260301t000000-aaaaaaaa', 1, 4],
    ['20260302t000000-bbbbbbbb', 5, 3],
    ['20260303t000000-cccccccc', 8, 2],
  ] as const)
    bucket.objects.set(...scoresRecord(id, first, rows));
  const defsDir = await writeDefs({ 'defs.ts': scoresDefs });
  const dir = await makeTempDir('snapshot-aws-cli');
  fstore = fstoreOnBucket(bucket, defsDir, dir);
}, 60_000);
afterAll(() => bucket.close());

describe('fstore snapshot --env <aws> (loopback S3)', () => {
  it('creates, lists, shows and deletes snapshots stored in the offline bucket', async () => {
    const created = await fstore(
      'snapshot',
      'create',
      '--name',
      'v1_baseline',
      '--service',
      'scoring',
      '--bucket',
      'offline-bucket',
      '--json',
    );
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({
      name: 'v1_baseline',
      service: 'scoring',
      sources: { scores: { maxSeq: 9 } },
    });
    expect(bucket.objects.has(`${s3SnapshotsPrefix}v1_baseline.json`)).toBe(true);

    const again = await fstore(
      'snapshot',
      'create',
      '--name',
      'v1_baseline',
      '--bucket',
      'offline-bucket',
    );
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('environment "dev" already has a snapshot "v1_baseline"');

    const listed = await fstore('snapshot', 'list', '--bucket', 'offline-bucket', '--json');
    expect(JSON.parse(listed.stdout).snapshots.map((s: { name: string }) => s.name)).toEqual([
      'v1_baseline',
    ]);
    const shown = await fstore(
      'snapshot',
      'show',
      '--name',
      'v1_baseline',
      '--bucket',
      'offline-bucket',
    );
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain('snapshot v1_baseline');

    const deleted = await fstore(
      'snapshot',
      'delete',
      '--name',
      'v1_baseline',
      '--bucket',
      'offline-bucket',
      '--json',
    );
    expect(JSON.parse(deleted.stdout)).toEqual({ deleted: 'v1_baseline' });
    expect(bucket.objects.has(`${s3SnapshotsPrefix}v1_baseline.json`)).toBe(false);
    const gone = await fstore(
      'snapshot',
      'show',
      '--name',
      'v1_baseline',
      '--bucket',
      'offline-bucket',
    );
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('has no snapshot "v1_baseline"');
  }, 120_000);

  it('refuses while a retention holds a source’s lock (--lock-wait 0), naming it and --break-lock; --break-lock takes it over', async () => {
    const lockKey = 'offline/_ingests/scores/compactions/_lock.json';
    holdLockAsRetention(bucket, 'scores');
    const args = ['snapshot', 'create', '--name', 'during', '--bucket', 'offline-bucket'];
    const refused = await fstore(...args, '--lock-wait', '0');
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stderr).toContain(
      'the snapshot "during" of source "scores" cannot run now: the retention of source "scores" is already running',
    );
    expect(refused.stderr).toContain('--break-lock a1b2c3d4e5f6');
    expect(bucket.objects.has(`${s3SnapshotsPrefix}during.json`)).toBe(false);
    const badOwner = await fstore(...args, '--break-lock', 'someone');
    expect(badOwner.code).toBe(2);
    const broken = await fstore(...args, '--break-lock', 'a1b2c3d4e5f6');
    expect(broken.code, broken.stderr).toBe(0);
    expect(bucket.objects.has(`${s3SnapshotsPrefix}during.json`)).toBe(true);
    expect(bucket.objects.has(lockKey)).toBe(false); // released after the write
  }, 120_000);

  it('asks for the bucket, and refuses a bad name, before any S3 call', async () => {
    const requests = bucket.requests.length;
    const noBucket = await fstore('snapshot', 'list');
    expect(noBucket.code).toBe(2);
    expect(noBucket.stderr).toContain('pass --bucket <name>');
    const bad = await fstore(
      'snapshot',
      'create',
      '--name',
      'Bad-Name',
      '--bucket',
      'offline-bucket',
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('snapshot name "Bad-Name" is not valid');
    expect(bucket.requests.length).toBe(requests);
  }, 60_000);
});
