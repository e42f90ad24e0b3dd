import path from 'node:path';
import {
  ListObjectsV2Command,
  type ListObjectsV2CommandInput,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { orderStats } from '../../../feature-defs/views.ts';
import { defineFeatureService } from '../../../lib/definitions/index.ts';
import { estimateAthenaScan, statementReads } from '../../../lib/offline/s3-scan-estimate.ts';
import { compileRegistry, loadDefinitions } from '../../../lib/registry/index.ts';
import { renderServiceRequestSql } from '../../../lib/sql/athena-service-query.ts';
import { planPointInTime } from '../../../lib/sql/point-in-time-plan.ts';
import { repoRoot } from '../../helpers/run-fstore.ts';

const definitions = await loadDefinitions(path.join(repoRoot, 'feature-defs'));
const registry = compileRegistry(definitions);
/** An aggregation view's service: its window SQL reads the source more than once. */
const withOrderActivity = compileRegistry([
  ...definitions,
  {
    definition: defineFeatureService({
      name: 'order_activity',
      features: [orderStats],
      description: 'Order windows, for this test.',
      owner: 'test@example.com',
    }),
  },
]);
const s3 = mockClient(S3Client);
const mib = 1024 ** 2;

/**
 * ListObjectsV2 over `objects` (key → size) as S3 answers it: keys in order, after StartAfter
 * or the continuation token, at most `pageSize` per page. Records each request.
 */
function bucketOf(objects: Record<string, number>, pageSize = 2) {
  const requests: ListObjectsV2CommandInput[] = [];
  const keys = Object.keys(objects).sort();
  s3.on(ListObjectsV2Command).callsFake(async (input: ListObjectsV2CommandInput) => {
    requests.push(input);
    const after = input.ContinuationToken ?? input.StartAfter ?? '';
    const matching = keys.filter((k) => k.startsWith(input.Prefix ?? '') && k > after);
    const page = matching.slice(0, pageSize);
    const truncated = matching.length > pageSize;
    return {
      Contents: page.map((Key) => ({ Key, Size: objects[Key] })),
      KeyCount: page.length,
      IsTruncated: truncated,
      ...(truncated ? { NextContinuationToken: page[page.length - 1] } : {}),
    };
  });
  return requests;
}

const options = {
  s3: new S3Client({ region: 'eu-west-1' }),
  bucket: 'offline-bucket',
  region: 'eu-west-1',
  registry,
  service: 'churn_online',
  plan: planPointInTime(
    registry,
    { service: 'churn_online' },
    { entityTimestampColumn: 'event_timestamp' },
  ),
  database: 'fstore_dev',
  // Profiles from 2026-02-04 (30 d), contracts from 2025-03-06 (365 d), orders from 2025-12-06 (90 d).
  timeRange: { min: '2026-03-06T00:00:00Z', max: '2026-03-11T00:00:00Z' },
};
const object = (source: string, dt: string, n = 0) =>
  `offline/${source}/dt=${dt}/20260101t000000-0a1b2c3d-${n}.parquet`;

describe('estimating what a training set scans on Athena (aws-sdk-client-mock)', () => {
  beforeEach(() => s3.reset());

  it('sums the objects of the partitions in range across pages, and no others', async () => {
    const requests = bucketOf({
      [object('orders', '2025-12-05')]: 1000,
      [object('orders', '2025-12-06', 0)]: 3 * mib,
      [object('orders', '2025-12-06', 1)]: 2 * mib,
      'offline/orders/dt=2025-12-06/_SUCCESS': 50,
      [object('orders', '2026-01-15')]: mib,
      // Not partitions Athena reads: a sub-folder of one, one below another folder, a
      // backslash that is part of the name on S3, a day not in the calendar.
      'offline/orders/dt=2026-01-15/sub/x.parquet': 11,
      'offline/orders/old/dt=2026-01-15/x.parquet': 12,
      'offline/orders/dt=2026-01-16\\x.parquet': 13,
      'offline/orders/dt=2026-02-30/x.parquet': 14,
      [object('orders', '2026-03-11')]: 4 * mib,
      [object('orders', '2026-03-12')]: 7777,
      [object('orders', '2026-03-13')]: 8888,
      [object('orders', '2026-03-14')]: 9999,
      'offline/_ingests/orders/abc/20260101t000000-0a1b2c3d.json': 300,
      'offline/_ingests/orders/def/20260102t000000-0a1b2c3d.json': 200,
      'offline/_ingests/orders/fed/20260103t000000-0a1b2c3d.json': 100,
    });
    const estimate = await estimateAthenaScan({ ...options, requestBytes: 1234 });
    const orders = estimate.sources.find((s) => s.source === 'orders');
    expect(orders).toEqual({
      source: 'orders',
      fromDay: '2025-12-06',
      toDay: '2026-03-11',
      partitions: [
        { dt: '2025-12-06', objects: 2, bytes: 5 * mib },
        { dt: '2026-01-15', objects: 1, bytes: mib },
        { dt: '2026-03-11', objects: 1, bytes: 4 * mib },
      ],
      objects: 4,
      bytes: 10 * mib,
      reads: 1,
      recordBytes: 600,
    });
    const orderListings = requests.filter((r) => r.Prefix === 'offline/orders/');
    // Starts after the last key before the range; pages with the token; stops past the range.
    expect(orderListings[0]).toEqual({
      Bucket: 'offline-bucket',
      Prefix: 'offline/orders/',
      StartAfter: 'offline/orders/dt=2025-12-06',
    });
    expect(orderListings.slice(1).every((r) => r.ContinuationToken && !r.StartAfter)).toBe(true);
    expect(orderListings).toHaveLength(5);
    const records = requests.filter((r) => r.Prefix === 'offline/_ingests/orders/');
    expect(records).toHaveLength(2);
    // The two other sources hold nothing: counted, with no partitions.
    expect(estimate.sources.map((s) => [s.source, s.objects, s.bytes])).toEqual([
      ['customer_profiles', 0, 0],
      ['customer_contracts', 0, 0],
      ['orders', 4, 10 * mib],
    ]);
    expect(estimate.bytes).toBe(10 * mib + 600 + 7 * 1234);
    expect(estimate.price.billedBytes).toBe(11 * mib);
  });

  it('prices an empty store at Athena’s 10 MB minimum', async () => {
    bucketOf({});
    const estimate = await estimateAthenaScan(options);
    expect(estimate.sources.every((s) => s.partitions.length === 0)).toBe(true);
    expect(estimate.bytes).toBe(0);
    expect(estimate.price).toEqual({ billedBytes: 10 * mib, usd: (10 * mib * 5) / 1024 ** 4 });
  });

  it('counts each read of a source with its ingest records, and each read of the request', async () => {
    // churn_online: the request rows are read by 3 key filters and 4 references of the entities.
    const reads = statementReads(registry, 'churn_online', 'fstore_dev');
    expect(Object.fromEntries(reads.sources)).toEqual({
      customer_profiles: 1,
      customer_contracts: 1,
      orders: 1,
    });
    expect(reads.request).toBe(7);
    bucketOf({
      [object('orders', '2026-03-10')]: 2 * mib,
      'offline/_ingests/orders/abc/20260101t000000-0a1b2c3d.json': 100,
    });
    const estimate = await estimateAthenaScan({ ...options, requestBytes: 1000 });
    expect(estimate.requestReads).toBe(7);
    expect(estimate.bytes).toBe(2 * mib + 100 + 7 * 1000);
  });

  for (const service of ['churn_v1', 'churn_online', 'order_activity'])
    it(`reads each source once in the statement of ${service}: no WITH query holding a source scan is referenced twice`, () => {
      const sql = renderServiceRequestSql(withOrderActivity, service, 'fstore_dev');
      const defined = [...sql.matchAll(/^"?(fstore_[av]\d+|fstore_base)"? AS \($/gm)].map(
        (m) => m[1],
      );
      expect(defined.length).toBeGreaterThan(0);
      for (const name of defined) {
        const references = sql.split(new RegExp(`"?${name}"? (?!AS \\()`)).length - 1;
        expect(references, name).toBe(1);
      }
      const sources = statementReads(withOrderActivity, service, 'fstore_dev').sources;
      for (const [source, count] of sources) {
        expect(sql.split(`"fstore_dev"."${source}"`).length - 1, source).toBe(count);
        expect(count, source).toBe(1);
      }
    });

  it('names the bucket, the prefix and the IAM action when listing is denied', async () => {
    s3.on(ListObjectsV2Command).rejects(
      new S3ServiceException({
        name: 'AccessDenied',
        $fault: 'client',
        $metadata: { httpStatusCode: 403 },
        message: 'Access Denied',
      }),
    );
    const error = await estimateAthenaScan(options).catch((e: unknown) => e);
    expect(error).toMatchObject({
      name: 'ScanEstimateError',
      message:
        'access denied listing s3://offline-bucket/offline/customer_profiles/ (to estimate what the training set would scan)',
      hint: expect.stringContaining(
        's3:ListBucket on arn:aws:s3:::offline-bucket for the prefix offline/customer_profiles/',
      ),
    });
  });

  it('fails whole, naming the prefix, when S3 throttles a later page past the SDK’s retries', async () => {
    const slowDown = new S3ServiceException({
      name: 'SlowDown',
      $fault: 'server',
      $metadata: { httpStatusCode: 503, attempts: 3 },
      message: 'Please reduce your request rate.',
    });
    s3.on(ListObjectsV2Command)
      .resolvesOnce({
        Contents: [{ Key: object('customer_profiles', '2026-03-01'), Size: mib }],
        IsTruncated: true,
        NextContinuationToken: 'next',
      })
      .rejects(slowDown);
    const error = await estimateAthenaScan(options).catch((e: unknown) => e);
    expect(error).toMatchObject({
      name: 'ScanEstimateError',
      message:
        'S3 kept throttling the listing of s3://offline-bucket/offline/customer_profiles/ (SlowDown, HTTP 503) after 3 attempts: no estimate',
      hint: expect.stringContaining('try again in a minute'),
      cause: slowDown,
    });
    // A 503 without a throttling code reads the same way.
    s3.reset();
    s3.on(ListObjectsV2Command).rejects(
      new S3ServiceException({
        name: 'ServiceUnavailable',
        $fault: 'server',
        $metadata: { httpStatusCode: 503 },
        message: 'Service Unavailable',
      }),
    );
    await expect(estimateAthenaScan(options)).rejects.toThrow(
      'S3 kept throttling the listing of s3://offline-bucket/offline/customer_profiles/ (ServiceUnavailable, HTTP 503): no estimate',
    );
  });

  it('refuses a truncated page without a continuation token rather than estimate from part of the listing', async () => {
    s3.on(ListObjectsV2Command).resolves({
      Contents: [{ Key: object('customer_profiles', '2026-03-01'), Size: mib }],
      IsTruncated: true,
    });
    const error = await estimateAthenaScan(options).catch((e: unknown) => e);
    expect(error).toMatchObject({
      name: 'ScanEstimateError',
      message:
        'listing s3://offline-bucket/offline/customer_profiles/ answered a truncated page without a continuation token, so the listing would be incomplete: no estimate',
      hint: expect.stringContaining('AWS_ENDPOINT_URL_S3'),
    });
  });

  it('names a bucket that does not exist, and the partition of a China region in the ARN', async () => {
    s3.on(ListObjectsV2Command).rejects(
      new S3ServiceException({
        name: 'NoSuchBucket',
        $fault: 'client',
        $metadata: { httpStatusCode: 404 },
        message: 'The specified bucket does not exist',
      }),
    );
    await expect(estimateAthenaScan(options)).rejects.toThrow(
      'bucket offline-bucket does not exist (listing s3://offline-bucket/offline/customer_profiles/)',
    );
    s3.reset();
    s3.on(ListObjectsV2Command).rejects(
      new S3ServiceException({
        name: 'Forbidden',
        $fault: 'client',
        $metadata: { httpStatusCode: 403 },
        message: '',
      }),
    );
    const error = await estimateAthenaScan({ ...options, region: 'cn-north-1' }).catch(
      (e: unknown) => e,
    );
    expect((error as { hint: string }).hint).toContain('arn:aws-cn:s3:::offline-bucket');
  });
});
