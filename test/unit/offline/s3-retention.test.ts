import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  type DeleteObjectsCommandInput,
  GetObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandInput,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { microsOfMillis } from '../../../lib/epoch-micros.ts';
import { applyS3Retention, S3RetentionError } from '../../../lib/offline/s3-retention.ts';

const s3 = mockClient(S3Client);
const client = new S3Client({ region: 'us-east-1' });
const prefix = 'offline/orders/';
const now = Date.parse('2026-03-20T12:00:00Z');

/** Keys under the prefix, answered two per page to exercise paging. */
function bucketOf(keys: readonly string[]) {
  const objects = new Set(keys);
  s3.on(ListObjectsV2Command).callsFake(async (input: ListObjectsV2CommandInput) => {
    const all = [...objects].filter((k) => k.startsWith(input.Prefix ?? '')).sort();
    const start = Number(input.ContinuationToken ?? 0);
    const page = all.slice(start, start + 2);
    const more = start + 2 < all.length;
    return {
      Contents: page.map((Key) => ({ Key, Size: 100 })),
      IsTruncated: more,
      ...(more ? { NextContinuationToken: String(start + 2) } : {}),
    };
  });
  s3.on(DeleteObjectsCommand).callsFake(async (input: DeleteObjectsCommandInput) => {
    for (const o of input.Delete?.Objects ?? []) objects.delete(o.Key ?? '');
    return {};
  });
  return objects;
}

const options = {
  s3: client,
  bucket: 'offline-bucket',
  source: 'orders',
  prefix,
  retentionSeconds: 10 * 86_400,
  nowMicros: microsOfMillis(now),
  pins: [],
  now: () => new Date(now),
};

const keys = [
  'offline/orders/dt=2026-03-08/20260308t000000-aaaaaaaa-0.parquet',
  'offline/orders/dt=2026-03-09/20260309t000000-bbbbbbbb-0.parquet',
  'offline/orders/dt=2026-03-09/20260309t000000-cccccccc-0.parquet',
  // The boundary's day (10 March 12:00): kept whole on S3.
  'offline/orders/dt=2026-03-10/20260310t000000-dddddddd-0.parquet',
  'offline/orders/dt=2026-03-15/20260315t000000-eeeeeeee-0.parquet',
  // Not a partition's object: a folder below one, and a bad day.
  'offline/orders/dt=2026-03-08/sub/x.parquet',
  'offline/orders/dt=2026-02-30/20260228t000000-ffffffff-0.parquet',
];

describe('applyS3Retention (aws-sdk-client-mock)', () => {
  beforeEach(() => {
    s3.reset();
    s3.on(PutObjectCommand).resolves({ ETag: '"lock"' });
    s3.on(DeleteObjectCommand).resolves({});
  });

  it('deletes every object of the partitions before the boundary day, over every listing page', async () => {
    const left = bucketOf(keys);
    const result = await applyS3Retention(options);
    expect(result).toMatchObject({
      boundary: '2026-03-10T12:00:00.000Z',
      partitionsDeleted: ['dt=2026-03-08', 'dt=2026-03-09'],
      objectsDeleted: 3,
      bytesFreed: 300,
    });
    // The commit records (read first, one page), then the data's four pages.
    expect(
      s3.commandCalls(ListObjectsV2Command).map((c) => c.args[0].input.Prefix?.split('/')[1]),
    ).toEqual(['_ingests', 'orders', 'orders', 'orders', 'orders']);
    expect([...left].sort()).toEqual(keys.slice(3).sort());
    // Under the source's compaction lock, released after.
    expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input.Key).toBe(
      'offline/_ingests/orders/compactions/_lock.json',
    );
    expect(s3.commandCalls(DeleteObjectCommand)).toHaveLength(1);
  });

  it('changes nothing on a dry run and takes no lock', async () => {
    const left = bucketOf(keys);
    const result = await applyS3Retention({ ...options, dryRun: true });
    expect(result).toMatchObject({ objectsDeleted: 3, dryRun: true });
    expect(left.size).toBe(keys.length);
    expect(s3.commandCalls(DeleteObjectsCommand)).toHaveLength(0);
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  it('deletes in batches of 1,000 keys', async () => {
    bucketOf(
      Array.from(
        { length: 2001 },
        (_, i) =>
          `offline/orders/dt=2026-01-01/20260101t000000-${String(i).padStart(8, '0')}-0.parquet`,
      ),
    );
    const result = await applyS3Retention(options);
    expect(result.objectsDeleted).toBe(2001);
    expect(
      s3.commandCalls(DeleteObjectsCommand).map((c) => c.args[0].input.Delete?.Objects?.length),
    ).toEqual([1000, 1000, 1]);
  });

  it('waits up to lockWaitMs for a lock an ingest commit or snapshot create holds briefly, saying so, then runs', async () => {
    const left = bucketOf(keys);
    const lockKey = 'offline/_ingests/orders/compactions/_lock.json';
    let held = 2;
    s3.on(PutObjectCommand, { Key: lockKey }).callsFake(async () => {
      if (held-- > 0)
        throw new S3ServiceException({
          name: 'PreconditionFailed',
          $fault: 'client',
          $metadata: { httpStatusCode: 412 },
        });
      return { ETag: '"mine"' };
    });
    s3.on(GetObjectCommand, { Key: lockKey }).resolves({
      ETag: '"theirs"',
      Body: {
        transformToString: async () =>
          JSON.stringify({
            owner: 'a1b2c3d4e5f6',
            host: 'laptop',
            pid: 9,
            purpose: 'the commit of ingest i1 into source "orders"',
            started: '2026-03-20T11:59:59.000Z',
            expires: '2026-03-20T12:04:59.000Z',
          }),
      } as never,
    });
    const told: string[] = [];
    const result = await applyS3Retention({
      ...options,
      lockWaitMs: 10_000,
      lockPollMs: 5,
      onLockWait: (m) => told.push(m),
    });
    expect(result.objectsDeleted).toBe(3);
    expect(left.size).toBe(keys.length - 3);
    expect(told).toHaveLength(1);
    expect(told[0]).toContain('held by owner a1b2c3d4e5f6 (the commit of ingest i1');
  });

  it('fails naming the keys S3 kept when DeleteObjects answers errors with 200, and releases the lock', async () => {
    bucketOf(keys);
    s3.on(DeleteObjectsCommand).resolves({
      Errors: [{ Key: keys[1], Code: 'AccessDenied', Message: 'Access Denied' }],
    });
    const run = applyS3Retention(options);
    await expect(run).rejects.toBeInstanceOf(S3RetentionError);
    await expect(run).rejects.toThrow(
      `S3 kept 1 of 3 objects of "orders" it was asked to delete: ${keys[1]} (AccessDenied: Access Denied)`,
    );
    expect(s3.commandCalls(DeleteObjectCommand)).toHaveLength(1);
  });

  it('keeps the objects holding rows a snapshot pins, deletes the others, and says which snapshots kept what', async () => {
    // Ingest seq ranges: aaaaaaaa 1-10, bbbbbbbb 11-20, cccccccc 21-30; v1 pins through 15.
    const recordOf = (id: string, firstSeq: number, key: string) => ({
      key: `offline/_ingests/orders/${'a'.repeat(64)}/${id}.json`,
      body: JSON.stringify({ ingestId: id, source: 'orders', rows: 10, firstSeq, files: [key] }),
    });
    const records = [
      recordOf('20260308t000000-aaaaaaaa', 1, keys[0] as string),
      recordOf('20260309t000000-bbbbbbbb', 11, keys[1] as string),
      recordOf('20260309t000000-cccccccc', 21, keys[2] as string),
    ];
    const left = bucketOf([...keys, ...records.map((r) => r.key)]);
    s3.on(GetObjectCommand).callsFake(async (input: { Key: string }) => ({
      Body: {
        transformToString: async () => records.find((r) => r.key === input.Key)?.body ?? '',
      },
    }));
    const pins = [
      { snapshot: 'v1', source: 'orders', throughSeq: 15n },
      { snapshot: 'other_source', source: 'clicks', throughSeq: 99n },
    ];
    const result = await applyS3Retention({ ...options, pins });
    // bbbbbbbb holds pinned and unpinned rows: without the boundary rewrite (DuckDB) it stays whole.
    expect(result).toMatchObject({
      objectsDeleted: 1,
      objectsKept: 2,
      keptFor: ['v1'],
      pinnedBy: [],
    });
    expect(left.has(keys[0] as string)).toBe(true);
    expect(left.has(keys[1] as string)).toBe(true);
    expect(left.has(keys[2] as string)).toBe(false);
    const forced = await applyS3Retention({ ...options, pins, force: true });
    expect(forced).toMatchObject({
      objectsDeleted: 2,
      objectsKept: 0,
      keptFor: [],
      pinnedBy: ['v1'],
    });
  });

  it('deletes as before when no snapshot pins a row of the source (a pin of seq 0, or of another source)', async () => {
    const left = bucketOf(keys);
    const pins = [
      { snapshot: 'empty', source: 'orders', throughSeq: 0n },
      { snapshot: 'other_source', source: 'clicks', throughSeq: 99n },
    ];
    expect(await applyS3Retention({ ...options, pins })).toMatchObject({
      objectsDeleted: 3,
      objectsKept: 0,
      keptFor: [],
    });
    expect(left.size).toBe(keys.length - 3);
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
  });

  it('refuses a truncated listing page without a continuation token', async () => {
    s3.on(ListObjectsV2Command).resolves({ Contents: [], IsTruncated: true });
    await expect(applyS3Retention(options)).rejects.toThrow('without a continuation token');
    expect(s3.commandCalls(DeleteObjectsCommand)).toHaveLength(0);
  });
});
