import {
  DeleteObjectCommand,
  GetObjectCommand,
  type GetObjectCommandInput,
  ListObjectsV2Command,
  type ListObjectsV2CommandInput,
  PutObjectCommand,
  type PutObjectCommandInput,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { clockSeq } from '../../../lib/offline/clock-seq.ts';
import {
  readS3CommittedSources,
  s3CommittedSeqs,
  s3ObjectsRead,
} from '../../../lib/offline/s3-committed-ingests.ts';
import {
  createS3Snapshot,
  deleteS3Snapshot,
  findS3Snapshot,
  listS3Snapshots,
  s3SnapshotPins,
  s3SnapshotsPrefix,
} from '../../../lib/offline/s3-snapshots.ts';
import { SnapshotError } from '../../../lib/offline/snapshot-format.ts';

const s3 = mockClient(S3Client);
const client = new S3Client({ region: 'us-east-1' });
const store = { s3: client, bucket: 'offline-bucket', env: 'dev' };
const sha = 'a'.repeat(64);

const s3Error = (name: string, status: number) =>
  new S3ServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
    message: name,
  });

/** A bucket in memory: listings two keys a page, reads, puts and deletes of its objects. */
function bucketOf(initial: Record<string, string>) {
  const objects = new Map(Object.entries(initial));
  const puts: PutObjectCommandInput[] = [];
  s3.on(ListObjectsV2Command).callsFake(async (input: ListObjectsV2CommandInput) => {
    const all = [...objects.keys()].filter((k) => k.startsWith(input.Prefix ?? '')).sort();
    const start = Number(input.ContinuationToken ?? 0);
    const more = start + 2 < all.length;
    return {
      Contents: all.slice(start, start + 2).map((Key) => ({ Key, Size: 10 })),
      IsTruncated: more,
      ...(more ? { NextContinuationToken: String(start + 2) } : {}),
    };
  });
  s3.on(GetObjectCommand).callsFake(async (input: GetObjectCommandInput) => {
    const text = objects.get(input.Key ?? '');
    if (text === undefined) throw s3Error('NoSuchKey', 404);
    return { Body: { transformToString: async () => text } };
  });
  // `puts` are the snapshot objects' (creates also write each source's compaction lock).
  s3.on(PutObjectCommand).callsFake(async (input: PutObjectCommandInput) => {
    if (input.Key?.startsWith(s3SnapshotsPrefix)) puts.push(input);
    if (input.IfNoneMatch === '*' && objects.has(input.Key ?? ''))
      throw s3Error('PreconditionFailed', 412);
    objects.set(input.Key ?? '', String(input.Body));
    return { ETag: `"${objects.size}"` };
  });
  s3.on(DeleteObjectCommand).callsFake(async (input: { Key?: string }) => {
    objects.delete(input.Key ?? '');
    return {};
  });
  return { objects, puts };
}

const ingest = (id: string, firstSeq: number, rows: number, files?: string[]) =>
  JSON.stringify({
    ingestId: id,
    source: 'orders',
    file: 'x.csv',
    sha256: sha,
    rows,
    firstSeq,
    at: '2026-03-01T00:00:00Z',
    ...(files ? { files } : {}),
  });

const idA = '20260301t000000-aaaaaaaa';
const idB = '20260302t000000-bbbbbbbb';
const idC = '20260303t000000-cccccccc';
const objA = `offline/orders/dt=2026-03-01/${idA}-0.parquet`;
const objB = `offline/orders/dt=2026-03-02/${idB}-0.parquet`;
const objC = `offline/orders/dt=2026-03-01/${idC}-0.parquet`;
const records = {
  [`offline/_ingests/orders/${sha}/${idA}.json`]: ingest(idA, 1, 5, [objA]),
  [`offline/_ingests/orders/${sha}/${idB}.json`]: ingest(idB, 6, 3, [objB]),
  // A compaction merged A's object into C's.
  [`offline/_ingests/orders/compactions/${idC}.json`]: JSON.stringify({
    kind: 'compaction',
    ingestId: idC,
    source: 'orders',
    at: '2026-03-04T00:00:00Z',
    keepUntil: '2026-03-04T01:00:00Z',
    files: [objC],
    replaces: [objA],
  }),
  // The compaction lock: hidden from readers.
  'offline/_ingests/orders/compactions/_lock.json': '{"owner":"x"}',
};

const committed = async (sources: readonly string[]) =>
  s3CommittedSeqs(await readS3CommittedSources(client, 'offline-bucket', sources));

beforeEach(() => s3.reset());

describe('snapshots of an AWS environment', () => {
  it('creates one object per snapshot with a conditional put, pinning max(firstSeq + rows - 1)', async () => {
    const bucket = bucketOf(records);
    const made = await createS3Snapshot(
      store,
      {
        name: 'v1_baseline',
        sources: ['orders', 'clicks'],
        description: 'before',
        now: new Date('2026-03-05T00:00:00Z'),
      },
      committed,
    );
    expect(made.sources).toEqual({
      clicks: { maxSeq: 0, ingestIds: [] },
      orders: { maxSeq: 8, ingestIds: [idA, idB] },
    });
    expect(bucket.puts).toHaveLength(1);
    expect(bucket.puts[0]).toMatchObject({
      Key: `${s3SnapshotsPrefix}v1_baseline.json`,
      IfNoneMatch: '*',
    });
    expect(await findS3Snapshot(store, 'v1_baseline')).toEqual(made);
    expect(await s3SnapshotPins(store)).toEqual([
      { snapshot: 'v1_baseline', source: 'clicks', throughSeq: 0n },
      { snapshot: 'v1_baseline', source: 'orders', throughSeq: 8n },
    ]);
  });

  it('pins S3 ingests numbered from the clock (past 2^53) exactly, and stores the pin as digits', async () => {
    // fstore ingest --env numbers rows from ms × 2^20 (clock-seq.ts): about 1.9e18.
    const first = clockSeq(Date.parse('2026-12-02T03:00:00Z'));
    const bucket = bucketOf({
      [`offline/_ingests/orders/${sha}/${idA}.json`]: ingest(idA, first, 10, [objA]),
    });
    const made = await createS3Snapshot(store, { name: 'clocked', sources: ['orders'] }, committed);
    const exact = BigInt(first) + 9n;
    expect(BigInt(first + 9)).not.toBe(exact); // a double sum names another row's seq
    expect(made.sources.orders?.maxSeq).toBe(exact.toString());
    expect(JSON.parse(String(bucket.puts[0]?.Body)).sources.orders.maxSeq).toBe(exact.toString());
    expect(await s3SnapshotPins(store)).toEqual([
      { snapshot: 'clocked', source: 'orders', throughSeq: exact },
    ]);
    const orders = (await readS3CommittedSources(client, 'offline-bucket', ['orders'])).get(
      'orders',
    );
    if (!orders) throw new Error('no orders');
    expect(s3ObjectsRead(orders, exact)).toEqual([objA]);
    expect(s3ObjectsRead(orders, BigInt(first) - 1n)).toEqual([]);
  });

  it('refuses a taken name when the conditional put loses the race (412), as a taken name', async () => {
    const bucket = bucketOf(records);
    // Another create wrote the name between our check and our put.
    s3.on(GetObjectCommand, { Key: `${s3SnapshotsPrefix}v1.json` }).rejectsOnce(
      s3Error('NoSuchKey', 404),
    );
    bucket.objects.set(
      `${s3SnapshotsPrefix}v1.json`,
      JSON.stringify({ name: 'v1', createdAt: 'x', sources: {} }),
    );
    const error = await createS3Snapshot(
      store,
      { name: 'v1', sources: ['orders'] },
      committed,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SnapshotError);
    expect((error as Error).message).toBe('environment "dev" already has a snapshot "v1"');
  });

  it('refuses a taken name before computing anything, and a bad name before any S3 call', async () => {
    const bucket = bucketOf(records);
    await createS3Snapshot(store, { name: 'v1', sources: ['orders'] }, committed);
    await expect(
      createS3Snapshot(store, { name: 'v1', sources: ['orders'] }, committed),
    ).rejects.toThrow('already has a snapshot "v1"');
    expect(bucket.puts).toHaveLength(1);
    s3.reset();
    await expect(
      createS3Snapshot(store, { name: '../x', sources: ['orders'] }, committed),
    ).rejects.toThrow('snapshot name "../x" is not valid');
    expect(s3.calls()).toHaveLength(0);
  });

  it('refuses an environment with nothing ingested, writing nothing (its lock released)', async () => {
    const bucket = bucketOf({});
    await expect(
      createS3Snapshot(store, { name: 'v1', sources: ['orders'] }, committed),
    ).rejects.toThrow('has no ingested data to snapshot');
    expect(bucket.puts).toHaveLength(0);
    expect([...bucket.objects.keys()]).toEqual([]);
  });

  it('fails a throttled listing of the records with a hint to run again, writing nothing', async () => {
    const bucket = bucketOf(records);
    s3.on(ListObjectsV2Command).rejects(s3Error('SlowDown', 503));
    const error = (await createS3Snapshot(
      store,
      { name: 'v1', sources: ['orders'] },
      committed,
    ).catch((e: unknown) => e)) as { message: string; hint: string };
    expect(error.message).toMatch(
      /^listing s3:\/\/offline-bucket\/offline\/_ingests\/orders\/ failed: SlowDown/,
    );
    expect(error.hint).toMatch(/throttling/);
    expect(bucket.puts).toHaveLength(0);
  });

  it('lists every page oldest first, skipping keys not named like a snapshot and one deleted meanwhile', async () => {
    const snap = (name: string, createdAt: string) =>
      JSON.stringify({ name, createdAt, sources: { orders: { maxSeq: 1, ingestIds: [] } } });
    bucketOf({
      [`${s3SnapshotsPrefix}b.json`]: snap('b', '2026-03-02T00:00:00.000Z'),
      [`${s3SnapshotsPrefix}a.json`]: snap('a', '2026-03-03T00:00:00.000Z'),
      [`${s3SnapshotsPrefix}c.json`]: snap('c', '2026-03-01T00:00:00.000Z'),
      [`${s3SnapshotsPrefix}README.txt`]: 'not a snapshot',
      [`${s3SnapshotsPrefix}gone.json`]: snap('gone', '2026-03-01T00:00:00.000Z'),
    });
    s3.on(GetObjectCommand, { Key: `${s3SnapshotsPrefix}gone.json` }).rejects(
      s3Error('NoSuchKey', 404),
    );
    expect((await listS3Snapshots(store)).map((s) => s.name)).toEqual(['c', 'b', 'a']);
    expect(s3.commandCalls(ListObjectsV2Command).length).toBe(3);
  });

  it('refuses a listing whose truncated page has no continuation token, reading nothing', async () => {
    bucketOf({});
    s3.on(ListObjectsV2Command).resolves({
      Contents: [{ Key: `${s3SnapshotsPrefix}a.json` }],
      IsTruncated: true,
    });
    await expect(listS3Snapshots(store)).rejects.toThrow(
      `listing s3://offline-bucket/${s3SnapshotsPrefix} answered a truncated page without a continuation token`,
    );
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
  });

  it('names a missing snapshot and the ones there are; refuses a damaged one naming its key', async () => {
    bucketOf({
      [`${s3SnapshotsPrefix}v1.json`]: JSON.stringify({ name: 'v1', createdAt: 'x', sources: {} }),
      [`${s3SnapshotsPrefix}bad.json`]: '{"name":"bad","sources":{"orders":{"maxSeq":-1}}}',
    });
    await expect(findS3Snapshot(store, 'v2')).rejects.toThrow(
      'environment "dev" has no snapshot "v2"',
    );
    const missing = (await findS3Snapshot(store, 'v2').catch((e: unknown) => e)) as {
      hint: string;
    };
    expect(missing.hint).toBe('its snapshots: bad, v1');
    await expect(findS3Snapshot(store, 'bad')).rejects.toThrow(
      `the snapshot s3://offline-bucket/${s3SnapshotsPrefix}bad.json is damaged`,
    );
  });

  it('deletes a snapshot, and refuses to delete one that does not exist', async () => {
    const bucket = bucketOf({
      [`${s3SnapshotsPrefix}v1.json`]: JSON.stringify({ name: 'v1', createdAt: 'x', sources: {} }),
    });
    expect((await deleteS3Snapshot(store, 'v1')).name).toBe('v1');
    expect(bucket.objects.size).toBe(0);
    await expect(deleteS3Snapshot(store, 'v1')).rejects.toThrow('has no snapshot "v1"');
    expect(s3.commandCalls(DeleteObjectCommand)).toHaveLength(1);
  });
});

describe('the S3 objects a pinned read takes rows from', () => {
  it('are the objects of ingests within the pin and the compactions’, less what a compaction replaced', async () => {
    bucketOf(records);
    const orders = (await readS3CommittedSources(client, 'offline-bucket', ['orders'])).get(
      'orders',
    );
    if (!orders) throw new Error('no orders');
    expect(s3ObjectsRead(orders, 5n)).toEqual([objC]);
    expect(s3ObjectsRead(orders, 8n)).toEqual([objC, objB].sort());
  });

  it('refuses a record that is neither an ingest’s nor a compaction’s, naming it', async () => {
    bucketOf({ ...records, [`offline/_ingests/orders/${sha}/${idB}.json`]: '{"ingestId":"x"}' });
    await expect(readS3CommittedSources(client, 'offline-bucket', ['orders'])).rejects.toThrow(
      `the commit record s3://offline-bucket/offline/_ingests/orders/${sha}/${idB}.json is not an ingest's`,
    );
  });
});
