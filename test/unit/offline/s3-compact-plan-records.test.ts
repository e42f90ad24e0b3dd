import {
  GetObjectCommand,
  type GetObjectCommandInput,
  ListObjectsV2Command,
  type ListObjectsV2CommandInput,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { planS3Compaction } from '../../../lib/offline/s3-compact-plan.ts';

// Which records and objects planning honours beyond s3-compact-plan.test.ts: hidden keys, a
// compaction record's id and kind, keepUntil at the instant, and how each listing error reads.
const s3 = mockClient(S3Client);

/** One-page listings of `objects` (key → size); GetObject answers `records` (undefined: no Body). */
function bucketOf(objects: Record<string, number>, records: Record<string, string | null> = {}) {
  const keys = Object.keys(objects).sort();
  s3.on(ListObjectsV2Command).callsFake(async (input: ListObjectsV2CommandInput) => ({
    Contents: keys
      .filter((k) => k.startsWith(input.Prefix ?? ''))
      .map((Key) => ({ Key, Size: objects[Key] })),
    IsTruncated: false,
  }));
  s3.on(GetObjectCommand).callsFake(async (input: GetObjectCommandInput) => {
    const text = records[input.Key ?? ''];
    if (text === undefined) throw new Error(`unexpected GetObject ${input.Key}`);
    return text === null ? {} : { Body: { transformToString: async () => text } };
  });
}

const options = {
  s3: new S3Client({ region: 'eu-west-1' }),
  bucket: 'offline-bucket',
  region: 'eu-west-1',
  source: 'orders',
  prefix: 'offline/orders/',
  targetBytes: 1000,
};
const first = '20260101t000000-0a1b2c3d';
const compaction = '20260104t000000-3d4e5f6a';
const data = (dt: string, id: string, n = 0) => `offline/orders/dt=${dt}/${id}-${n}.parquet`;
const record = (id: string) =>
  `offline/_ingests/orders/${id.replace(/[^0-9a-f]/g, '').padEnd(64, '0')}/${id}.json`;
const compactionKey = `offline/_ingests/orders/compactions/${compaction}.json`;
const replaced = [data('2026-03-01', first, 0), data('2026-03-01', first, 1)];
const compactionRecord = (fields: Record<string, unknown> = {}) =>
  JSON.stringify({
    kind: 'compaction',
    ingestId: compaction,
    source: 'orders',
    at: '2026-03-04T00:00:00.000Z',
    keepUntil: '2026-03-04T01:00:00.000Z',
    files: [data('2026-03-01', compaction, 0)],
    replaces: replaced,
    ...fields,
  });
const objects = {
  [record(first)]: 300,
  [replaced[0] as string]: 100,
  [replaced[1] as string]: 100,
  [data('2026-03-01', compaction, 0)]: 200,
};

describe('records planning an S3 compaction honours (aws-sdk-client-mock)', () => {
  beforeEach(() => s3.reset());

  it('neither honours nor reports hidden keys below the records: the lock, _ and . folders', async () => {
    bucketOf({
      ...objects,
      'offline/_ingests/orders/compactions/_lock.json': 10,
      [`offline/_ingests/orders/.tmp/${compaction}.json`]: 10,
      [`offline/_ingests/orders/_staging/${compaction}.json`]: 10,
    });
    const plan = await planS3Compaction(options);
    expect(plan.ignoredRecords).toEqual([]);
    expect(plan.committedObjects).toBe(2);
  });

  it('ignores and reports a record under compactions/<id>.json that holds another id', async () => {
    bucketOf(
      { ...objects, [compactionKey]: 300 },
      { [compactionKey]: compactionRecord({ ingestId: first }) },
    );
    const plan = await planS3Compaction({ ...options, now: () => new Date('2026-03-05') });
    expect(plan.ignoredRecords).toEqual([compactionKey]);
    expect(plan.expiredReplaced).toEqual([]);
    expect(plan.committedObjects).toBe(2);
  });

  it('commits but replaces nothing for a compaction-named record that is no compaction record', async () => {
    bucketOf(
      { ...objects, [compactionKey]: 300 },
      { [compactionKey]: JSON.stringify({ ingestId: compaction }) },
    );
    const plan = await planS3Compaction({ ...options, now: () => new Date('2026-03-05') });
    expect(plan).toMatchObject({ committedObjects: 3, uncommittedObjects: 0, expiredReplaced: [] });
  });

  it('lets a record of the older <sha256>.json layout commit, never replace, even holding a compaction', async () => {
    const legacy = `offline/_ingests/orders/${'cd'.repeat(32)}.json`;
    bucketOf({ ...objects, [legacy]: 300 }, { [legacy]: compactionRecord() });
    const plan = await planS3Compaction({ ...options, now: () => new Date('2026-03-05') });
    expect(plan).toMatchObject({ committedObjects: 3, uncommittedObjects: 0, expiredReplaced: [] });
  });

  it('keeps replaced objects until keepUntil, and deletes them from that instant', async () => {
    bucketOf({ ...objects, [compactionKey]: 300 }, { [compactionKey]: compactionRecord() });
    const at = (iso: string) => planS3Compaction({ ...options, now: () => new Date(iso) });
    const before = await at('2026-03-04T00:59:59.999Z');
    expect(before.expiredReplaced).toEqual([]);
    expect(before.uncommittedObjects).toBe(2);
    expect((await at('2026-03-04T01:00:00.000Z')).expiredReplaced.map((o) => o.key)).toEqual(
      replaced,
    );
  });

  it('refuses a record with an empty ingestId or no body, naming it and how to restore it', async () => {
    const legacy = `offline/_ingests/orders/${'ab'.repeat(32)}.json`;
    for (const text of ['{"ingestId": ""}', null]) {
      s3.reset();
      bucketOf({ [legacy]: 5 }, { [legacy]: text });
      const error = await planS3Compaction(options).catch((e: unknown) => e);
      expect(error, String(text)).toMatchObject({
        message: expect.stringContaining(
          `the ingest record s3://offline-bucket/${legacy} is not a JSON object with an "ingestId"`,
        ),
        hint: expect.stringContaining(
          "restore the record's previous version (the bucket is versioned), or move it out of offline/_ingests/orders/",
        ),
      });
    }
  });

  it('leaves out an object in a dt= folder below another folder of the source', async () => {
    bucketOf({ ...objects, [`offline/orders/archive/dt=2026-03-01/${first}-7.parquet`]: 5 });
    const plan = await planS3Compaction(options);
    expect(plan.committedObjects).toBe(2);
    expect(plan.groups[0]?.objects.map((o) => o.key)).toEqual(replaced);
  });
});

describe('listing errors when planning an S3 compaction', () => {
  beforeEach(() => s3.reset());
  const failing = async (error: Error) => {
    s3.on(ListObjectsV2Command).rejects(error);
    return (await planS3Compaction(options).catch((e: unknown) => e)) as {
      message: string;
      hint?: string;
      cause?: unknown;
    };
  };
  const s3Error = (name: string, status?: number) =>
    new S3ServiceException({
      name,
      $fault: 'client',
      $metadata: status === undefined ? {} : { httpStatusCode: status },
      message: `${name} says no`,
    });
  const denied =
    'access denied listing s3://offline-bucket/offline/_ingests/orders/ (to plan the compaction of source "orders")';

  it('reads AccessDenied, Forbidden or any HTTP 403 as access denied, keeping the cause', async () => {
    for (const error of [
      s3Error('AccessDenied'),
      s3Error('Forbidden'),
      s3Error('SomethingElse', 403),
    ]) {
      s3.reset();
      const explained = await failing(error);
      expect(explained.message, error.name).toBe(denied);
      expect(explained.cause).toBe(error);
    }
  });

  it('names a missing bucket with the stack output to pass, keeping the cause', async () => {
    const error = s3Error('NoSuchBucket', 404);
    expect(await failing(error)).toMatchObject({
      message:
        'bucket offline-bucket does not exist (listing s3://offline-bucket/offline/_ingests/orders/)',
      hint: 'pass the OfflineBucketName output of the stack with --bucket, in the right account and region',
      cause: error,
    });
  });

  it('passes any other failure on with what was being done, keeping the cause', async () => {
    const error = new Error('socket hang up');
    expect(await failing(error)).toMatchObject({
      message: 'listing s3://offline-bucket/offline/_ingests/orders/ failed: socket hang up',
      cause: error,
    });
  });

  it('tells how to recover from a truncated page without a continuation token', async () => {
    s3.on(ListObjectsV2Command).resolves({ IsTruncated: true });
    const error = (await planS3Compaction(options).catch((e: unknown) => e)) as { hint: string };
    expect(error.hint).toBe(
      'try again; if it persists, the endpoint (AWS_ENDPOINT_URL_S3) does not speak ListObjectsV2 as S3 does',
    );
  });
});
