import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFstore } from '../helpers/run-fstore.ts';
import { type S3ListingStub, startS3ListingStub } from '../helpers/s3-listing-stub.ts';

const kib = 1024;
const first = '20260101t000000-0a1b2c3d';
const second = '20260102t000000-1b2c3d4e';
const killed = '20260103t000000-2c3d4e5f';
const data = (dt: string, id: string, n = 0) => `offline/orders/dt=${dt}/${id}-${n}.parquet`;

let s3: S3ListingStub;
let awsEnv: Record<string, string>;

beforeAll(async () => {
  const offline = {
    [`offline/_ingests/orders/${'a'.repeat(64)}/${first}.json`]: 300,
    [`offline/_ingests/orders/${'b'.repeat(64)}/${second}.json`]: 300,
    [data('2026-03-01', first)]: 30 * kib,
    [data('2026-03-01', second)]: 20 * kib,
    [data('2026-03-01', killed)]: 5 * kib,
    [data('2026-03-02', first)]: 40 * kib,
    [data('2026-03-02', second)]: 2048 * kib,
    [data('2026-03-03', first)]: 1 * kib,
    [data('2026-03-03', second)]: 2 * kib,
  };
  // The stub answers ListObjectsV2 only: any other request (a write, a delete) gets 501.
  s3 = await startS3ListingStub({ 'offline-bucket': offline }, { pageSize: 3 });
  awsEnv = {
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  };
});
afterAll(() => s3.close());

const compact = (...extra: string[]) => [
  '--env',
  'dev',
  'compact',
  '--source',
  'orders',
  '--target-file-size',
  '1MiB',
  ...extra,
];

describe('fstore compact --env <aws> --dry-run (against a loopback S3 listing)', () => {
  it('prints the merges per partition with each object and its size, committed objects only', async () => {
    const result = await runFstore(compact('--dry-run', '--bucket', 'offline-bucket', '--json'), {
      env: awsEnv,
    });
    expect(result.code, result.stderr).toBe(0);
    const plan = JSON.parse(result.stdout);
    expect(plan).toMatchObject({
      dryRun: true,
      engine: 's3',
      bucket: 'offline-bucket',
      targetFileBytes: 1024 * kib,
    });
    expect(plan.sources).toMatchObject([
      {
        source: 'orders',
        partitions: 2,
        objectsBefore: 6,
        objectsAfterAbout: 4,
        bytesMerged: 53 * kib,
        committedObjects: 6,
        committedBytes: 2141 * kib,
        uncommittedObjects: 1,
        expiredReplaced: [],
        ignoredRecords: [],
        groups: [
          {
            source: 'orders',
            partition: 'dt=2026-03-01',
            objects: [
              { key: data('2026-03-01', first), bytes: 30 * kib },
              { key: data('2026-03-01', second), bytes: 20 * kib },
            ],
            bytes: 50 * kib,
          },
          {
            source: 'orders',
            partition: 'dt=2026-03-03',
            objects: [
              { key: data('2026-03-03', first), bytes: 1 * kib },
              { key: data('2026-03-03', second), bytes: 2 * kib },
            ],
            bytes: 3 * kib,
          },
        ],
      },
    ]);
  }, 60_000);

  it('says the same in text, naming each object with its size and the objects left alone', async () => {
    const result = await runFstore(compact('--dry-run', '--bucket', 'offline-bucket'), {
      env: awsEnv,
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(
      'orders: 2 partitions, 6 → about 4 objects (53.0 KiB merged); 1 object of uncommitted ingests or replaced by a compaction left alone',
    );
    expect(result.stdout).toContain('dt=2026-03-01: 2 objects, 50.0 KiB');
    expect(result.stdout).toContain(`${data('2026-03-01', first)}  30.0 KiB`);
    expect(result.stdout).toContain(`${data('2026-03-03', second)}  2.0 KiB`);
    expect(result.stdout).not.toContain(killed);
  }, 60_000);

  it('refuses a run or a dry run without a bucket before any request to S3', async () => {
    const before = s3.listings.length;
    for (const args of [compact(), compact('--dry-run')]) {
      const result = await runFstore(args, { env: awsEnv });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('compact on AWS environment "dev" needs its offline bucket');
    }
    expect(s3.listings.length).toBe(before);
  }, 60_000);

  it('explains a bucket the caller may not list, naming the permission', async () => {
    const result = await runFstore(compact('--dry-run', '--bucket', 'locked-bucket'), {
      env: awsEnv,
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(
      'access denied listing s3://locked-bucket/offline/_ingests/orders/ (to plan the compaction of source "orders")',
    );
    expect(result.stderr).toContain('s3:ListBucket on arn:aws:s3:::locked-bucket');
  }, 60_000);
});
