import path from 'node:path';
import {
  ListObjectsV2Command,
  type ListObjectsV2CommandInput,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { estimateAthenaScan } from '../../../lib/offline/s3-scan-estimate.ts';
import { compileRegistry, loadDefinitions } from '../../../lib/registry/index.ts';
import { planPointInTime } from '../../../lib/sql/point-in-time-plan.ts';
import { repoRoot } from '../../helpers/run-fstore.ts';

// What the Athena scan estimate lists and how each listing error reads, beyond
// s3-scan-estimate.test.ts: hidden names, folders above a partition, every error kind.
const registry = compileRegistry(await loadDefinitions(path.join(repoRoot, 'feature-defs')));
const plan = planPointInTime(
  registry,
  { service: 'churn_online' },
  { entityTimestampColumn: 'event_timestamp' },
);
const s3 = mockClient(S3Client);
const options = {
  s3: new S3Client({ region: 'eu-west-1' }),
  bucket: 'offline-bucket',
  region: 'eu-west-1',
  registry,
  service: 'churn_online',
  plan,
  database: 'fstore_dev',
  timeRange: { min: '2026-03-06T00:00:00Z', max: '2026-03-11T00:00:00Z' },
};

function bucketOf(objects: Record<string, number>) {
  const keys = Object.keys(objects).sort();
  s3.on(ListObjectsV2Command).callsFake(async (input: ListObjectsV2CommandInput) => ({
    Contents: keys
      .filter((k) => k.startsWith(input.Prefix ?? '') && k > (input.StartAfter ?? ''))
      .map((Key) => ({ Key, Size: objects[Key] })),
    IsTruncated: false,
  }));
}

describe('what the Athena scan estimate counts (aws-sdk-client-mock)', () => {
  beforeEach(() => s3.reset());

  it('leaves out names Athena skips, starting with _ or .', async () => {
    bucketOf({
      'offline/orders/dt=2026-03-01/a-0.parquet': 100,
      'offline/orders/dt=2026-03-01/.a-0.parquet.crc': 7,
      'offline/orders/dt=2026-03-01/_SUCCESS': 9,
    });
    const estimate = await estimateAthenaScan(options);
    expect(estimate.sources.find((s) => s.source === 'orders')?.bytes).toBe(100);
  });

  it('leaves out a dt= folder below another folder when the range is open below (no TTL)', async () => {
    bucketOf({
      'offline/orders/archive/dt=2026-03-01/a-0.parquet': 7,
      'offline/orders/dt=2026-03-01/a-0.parquet': 100,
    });
    const open = { ...plan, views: plan.views.map((v) => ({ ...v, ttlSeconds: undefined })) };
    const estimate = await estimateAthenaScan({ ...options, plan: open });
    const orders = estimate.sources.find((s) => s.source === 'orders');
    expect(orders).not.toHaveProperty('fromDay');
    expect(orders).toMatchObject({ objects: 1, bytes: 100 });
  });
});

describe('listing errors of the Athena scan estimate', () => {
  beforeEach(() => s3.reset());
  const where = 's3://offline-bucket/offline/customer_profiles/';
  const failing = async (error: Error) => {
    s3.on(ListObjectsV2Command).rejects(error);
    return (await estimateAthenaScan(options).catch((e: unknown) => e)) as {
      name: string;
      message: string;
      hint?: string;
      cause?: unknown;
    };
  };
  const s3Error = (name: string, metadata: { httpStatusCode?: number; attempts?: number } = {}) =>
    new S3ServiceException({ name, $fault: 'client', $metadata: metadata, message: `${name}!` });

  it('reads AccessDenied, Forbidden or any HTTP 403 as access denied, keeping the cause', async () => {
    for (const error of [
      s3Error('AccessDenied'),
      s3Error('Forbidden'),
      s3Error('SomethingElse', { httpStatusCode: 403 }),
    ]) {
      s3.reset();
      const explained = await failing(error);
      expect(explained.message, error.name).toBe(
        `access denied listing ${where} (to estimate what the training set would scan)`,
      );
      expect(explained.cause).toBe(error);
    }
  });

  it('reads SlowDown, Throttling, ThrottlingException or HTTP 503 as throttling, HTTP 503 when S3 gave no status', async () => {
    const cases = [
      [s3Error('SlowDown'), '(SlowDown, HTTP 503)'],
      [s3Error('Throttling', { httpStatusCode: 400 }), '(Throttling, HTTP 400)'],
      [s3Error('ThrottlingException', { httpStatusCode: 400 }), '(ThrottlingException, HTTP 400)'],
      [s3Error('Busy', { httpStatusCode: 503 }), '(Busy, HTTP 503)'],
    ] as const;
    for (const [error, said] of cases) {
      s3.reset();
      const explained = await failing(error);
      expect(explained.message, error.name).toBe(
        `S3 kept throttling the listing of ${where} ${said}: no estimate`,
      );
      expect(explained.cause).toBe(error);
    }
  });

  it('names a missing bucket with the stack output to pass, keeping the cause', async () => {
    const error = s3Error('NoSuchBucket', { httpStatusCode: 404 });
    expect(await failing(error)).toMatchObject({
      message: `bucket offline-bucket does not exist (listing ${where})`,
      hint: 'pass the OfflineBucketName output of the stack with --bucket, in the right account and region',
      cause: error,
    });
  });

  it('says how to give credentials when there are none', async () => {
    const providerError = Object.assign(
      new Error('Could not load credentials from any providers'),
      {
        name: 'CredentialsProviderError',
      },
    );
    const tokenError = Object.assign(new Error('no token'), { name: 'CredentialsProviderError' });
    const worded = new Error('The security token included in the request has expired credential');
    for (const error of [providerError, tokenError, worded]) {
      s3.reset();
      expect(await failing(error), error.message).toMatchObject({
        name: 'ScanEstimateError',
        message: `no AWS credentials to list ${where}`,
        hint: 'set AWS_PROFILE (or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)',
        cause: error,
      });
    }
  });

  it('passes any other failure on with the prefix it was listing, keeping the cause', async () => {
    const error = new Error('socket hang up');
    expect(await failing(error)).toMatchObject({
      name: 'ScanEstimateError',
      message: `listing ${where} failed: socket hang up`,
      cause: error,
    });
  });
});
