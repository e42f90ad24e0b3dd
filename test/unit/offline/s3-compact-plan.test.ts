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

const s3 = mockClient(S3Client);
const mib = 1024 ** 2;

/** ListObjectsV2 over `objects` (key → size) as S3 pages it; GetObject answers `records`. */
function bucketOf(
  objects: Record<string, number>,
  records: Record<string, string> = {},
  pageSize = 2,
) {
  const listings: ListObjectsV2CommandInput[] = [];
  const reads: string[] = [];
  const keys = Object.keys(objects).sort();
  s3.on(ListObjectsV2Command).callsFake(async (input: ListObjectsV2CommandInput) => {
    listings.push(input);
    const after = input.ContinuationToken ?? input.StartAfter ?? '';
    const matching = keys.filter((k) => k.startsWith(input.Prefix ?? '') && k > after);
    const page = matching.slice(0, pageSize);
    const truncated = matching.length > pageSize;
    return {
      Contents: page.map((Key) => ({ Key, Size: objects[Key] })),
      IsTruncated: truncated,
      ...(truncated ? { NextContinuationToken: page[page.length - 1] } : {}),
    };
  });
  s3.on(GetObjectCommand).callsFake(async (input: GetObjectCommandInput) => {
    reads.push(input.Key ?? '');
    const text = records[input.Key ?? ''];
    if (text === undefined) throw new Error(`unexpected GetObject ${input.Key}`);
    return { Body: { transformToString: async () => text } };
  });
  return { listings, reads };
}

const options = {
  s3: new S3Client({ region: 'eu-west-1' }),
  bucket: 'offline-bucket',
  region: 'eu-west-1',
  source: 'orders',
  prefix: 'offline/orders/',
  targetBytes: 10 * mib,
};
const first = '20260101t000000-0a1b2c3d';
const second = '20260102t000000-1b2c3d4e';
const killed = '20260103t000000-2c3d4e5f';
const data = (dt: string, id: string, n = 0) => `offline/orders/dt=${dt}/${id}-${n}.parquet`;
const sha256 = (id: string) => id.replace(/[^0-9a-f]/g, '').padEnd(64, '0');
const record = (id: string) => `offline/_ingests/orders/${sha256(id)}/${id}.json`;

describe('planning an S3 compaction from the listings (aws-sdk-client-mock)', () => {
  beforeEach(() => s3.reset());

  it('groups the committed objects below the target by partition, following every page of both listings', async () => {
    const { listings, reads } = bucketOf({
      [record(first)]: 300,
      [record(second)]: 300,
      [data('2026-03-01', first, 0)]: 3 * mib,
      [data('2026-03-01', first, 1)]: 2 * mib,
      [data('2026-03-01', second, 0)]: 1 * mib,
      // at the target: left as it is
      [data('2026-03-01', second, 1)]: 10 * mib,
      // an ingest killed before its commit: not read by Athena, not merged
      [data('2026-03-01', killed, 0)]: 5,
      // alone below the target in its partition
      [data('2026-03-02', first, 0)]: 4 * mib,
      [data('2026-03-03', first, 0)]: 100,
      [data('2026-03-03', second, 0)]: 200,
      // not read by Athena: a marker, a sub-folder, a name no ingest gives, a day not in the calendar
      'offline/orders/dt=2026-03-01/_SUCCESS': 1,
      [`offline/orders/dt=2026-03-03/sub/${first}-9.parquet`]: 7,
      'offline/orders/dt=2026-03-03/by-hand.parquet': 8,
      [`offline/orders/dt=2026-02-30/${first}-3.parquet`]: 9,
      // another source whose name starts like this one
      [`offline/orders_archive/dt=2026-03-01/${first}-0.parquet`]: 10,
    });
    const plan = await planS3Compaction(options);
    expect(plan).toEqual({
      source: 'orders',
      committedObjects: 7,
      committedBytes: 20 * mib + 300,
      uncommittedObjects: 1,
      expiredReplaced: [],
      ignoredRecords: [],
      groups: [
        {
          source: 'orders',
          partition: 'dt=2026-03-01',
          objects: [
            { key: data('2026-03-01', first, 0), bytes: 3 * mib },
            { key: data('2026-03-01', first, 1), bytes: 2 * mib },
            { key: data('2026-03-01', second, 0), bytes: 1 * mib },
          ],
          bytes: 6 * mib,
        },
        {
          source: 'orders',
          partition: 'dt=2026-03-03',
          objects: [
            { key: data('2026-03-03', first, 0), bytes: 100 },
            { key: data('2026-03-03', second, 0), bytes: 200 },
          ],
          bytes: 300,
        },
      ],
    });
    const dataListings = listings.filter((l) => l.Prefix === 'offline/orders/');
    expect(dataListings.length).toBeGreaterThan(5);
    expect(dataListings.slice(1).every((l) => l.ContinuationToken)).toBe(true);
    expect(listings.filter((l) => l.Prefix === 'offline/_ingests/orders/')).toHaveLength(1);
    // Records in today's layout carry the id in their key: none is read.
    expect(reads).toEqual([]);
  });

  it('reads a record written before the commit rule (<sha256>.json) for its id, and ignores hidden records', async () => {
    const legacy = `offline/_ingests/orders/${'ab'.repeat(32)}.json`;
    const { reads } = bucketOf(
      {
        [legacy]: 200,
        // hidden below the records table's location: Athena does not read it, so its ingest is not committed
        [`offline/_ingests/orders/_staging/${second}.json`]: 200,
        [data('2026-03-01', first, 0)]: 100,
        [data('2026-03-01', first, 1)]: 100,
        [data('2026-03-01', second, 0)]: 100,
      },
      { [legacy]: JSON.stringify({ ingestId: first, source: 'orders', sha256: 'ab'.repeat(32) }) },
    );
    const plan = await planS3Compaction(options);
    expect(reads).toEqual([legacy]);
    expect(plan.committedObjects).toBe(2);
    expect(plan.uncommittedObjects).toBe(1);
    expect(plan.groups.map((g) => g.objects.map((o) => o.key))).toEqual([
      [data('2026-03-01', first, 0), data('2026-03-01', first, 1)],
    ]);
  });

  it('plans nothing for a source with no records: every object is uncommitted', async () => {
    bucketOf({ [data('2026-03-01', first, 0)]: 1, [data('2026-03-01', first, 1)]: 1 });
    const plan = await planS3Compaction(options);
    expect(plan).toMatchObject({ committedObjects: 0, uncommittedObjects: 2, groups: [] });
  });

  it('refuses a record that is not a JSON object with an ingestId, naming it', async () => {
    const broken = `offline/_ingests/orders/${'ab'.repeat(32)}.json`;
    bucketOf({ [broken]: 5, [data('2026-03-01', first, 0)]: 1 }, { [broken]: '{"ingestId": ' });
    await expect(planS3Compaction(options)).rejects.toThrow(
      `the ingest record s3://offline-bucket/${broken} is not a JSON object with an "ingestId"`,
    );
  });

  it('explains an access denied listing with the permission it needs', async () => {
    s3.on(ListObjectsV2Command).rejects(
      new S3ServiceException({
        name: 'AccessDenied',
        $fault: 'client',
        $metadata: { httpStatusCode: 403 },
        message: 'Access Denied',
      }),
    );
    const error = await planS3Compaction(options).catch((e: unknown) => e);
    expect(error).toMatchObject({
      name: 'S3CompactionPlanError',
      message:
        'access denied listing s3://offline-bucket/offline/_ingests/orders/ (to plan the compaction of source "orders")',
      hint: expect.stringContaining(
        's3:ListBucket on arn:aws:s3:::offline-bucket and s3:GetObject on arn:aws:s3:::offline-bucket/offline/*',
      ),
    });
  });

  it('refuses a truncated page without a continuation token rather than plan from part of the listing', async () => {
    s3.on(ListObjectsV2Command).resolves({ Contents: [], IsTruncated: true });
    await expect(planS3Compaction(options)).rejects.toThrow(
      'listing s3://offline-bucket/offline/_ingests/orders/ answered a truncated page without a continuation token',
    );
  });

  it('names the record and the bucket when reading a record fails', async () => {
    const legacy = `offline/_ingests/orders/${'ab'.repeat(32)}.json`;
    bucketOf({ [legacy]: 5 });
    s3.on(GetObjectCommand).rejects(new Error('socket hang up'));
    await expect(planS3Compaction(options)).rejects.toThrow(
      `reading the ingest record s3://offline-bucket/${legacy} failed: socket hang up`,
    );
  });
});

describe('which records under offline/_ingests/<source>/ planning honours (issue 17: an ingest principal may write keys in the ingest layout pattern)', () => {
  beforeEach(() => s3.reset());
  const compaction = '20260104t000000-3d4e5f6a';
  const compactionRecord = (id: string, replaces: string[]) =>
    JSON.stringify({
      kind: 'compaction',
      ingestId: id,
      source: 'orders',
      at: '2026-03-04T00:00:00.000Z',
      keepUntil: '2026-03-04T01:00:00.000Z',
      files: [data('2026-03-01', id, 0)],
      replaces,
    });
  const now = () => new Date('2026-03-05T00:00:00Z');

  it('ignores and reports a compaction-shaped record below a sub-folder of compactions/ (the ingest key pattern), so it neither commits nor replaces objects', async () => {
    // 12 + 52 characters, then /<id>.json: what the ingest policy's `?` pattern lets an ingest write.
    const forged = `offline/_ingests/orders/compactions/${'x'.repeat(52)}/${compaction}.json`;
    const { reads } = bucketOf(
      {
        [record(first)]: 300,
        [forged]: 300,
        [data('2026-03-01', first, 0)]: 100,
        [data('2026-03-01', first, 1)]: 100,
        [data('2026-03-01', compaction, 0)]: 100,
      },
      {
        [forged]: compactionRecord(compaction, [
          data('2026-03-01', first, 0),
          data('2026-03-01', first, 1),
        ]),
      },
    );
    const plan = await planS3Compaction({ ...options, now });
    expect(reads).toEqual([]);
    expect(plan.expiredReplaced).toEqual([]);
    expect(plan.committedObjects).toBe(2);
    expect(plan.uncommittedObjects).toBe(1);
    expect(plan.ignoredRecords).toEqual([forged]);
  });

  it('honours a compaction record directly under compactions/ named by its id: its replaced objects expire', async () => {
    const real = `offline/_ingests/orders/compactions/${compaction}.json`;
    const replaced = [data('2026-03-01', first, 0), data('2026-03-01', first, 1)];
    bucketOf(
      {
        [record(first)]: 300,
        [real]: 300,
        [replaced[0] as string]: 100,
        [replaced[1] as string]: 100,
        [data('2026-03-01', compaction, 0)]: 200,
      },
      { [real]: compactionRecord(compaction, replaced) },
    );
    const plan = await planS3Compaction({ ...options, now });
    expect(plan.committedObjects).toBe(1);
    expect(plan.expiredReplaced.map((o) => o.key)).toEqual(replaced);
    expect(plan.ignoredRecords).toEqual([]);
  });

  it('ignores and reports records outside the layouts (a folder that is not a content hash, a compaction record named otherwise)', async () => {
    const byHand = `offline/_ingests/orders/by-hand/${second}.json`;
    const misnamed = 'offline/_ingests/orders/compactions/latest.json';
    const { reads } = bucketOf(
      {
        [byHand]: 100,
        [misnamed]: 100,
        [data('2026-03-01', second, 0)]: 100,
        [data('2026-03-01', second, 1)]: 100,
      },
      {
        [byHand]: JSON.stringify({ ingestId: second }),
        [misnamed]: compactionRecord(second, []),
      },
    );
    const plan = await planS3Compaction(options);
    expect(reads).toEqual([]);
    expect(plan.committedObjects).toBe(0);
    expect(plan.ignoredRecords).toEqual([byHand, misnamed]);
  });
});
