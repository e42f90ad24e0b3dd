import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  type DeleteObjectCommandInput,
  DeleteObjectsCommand,
  type DeleteObjectsCommandInput,
  GetObjectCommand,
  type GetObjectCommandInput,
  ListObjectsV2Command,
  type ListObjectsV2CommandInput,
  NoSuchKey,
  PutObjectCommand,
  type PutObjectCommandInput,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type DuckdbSession, openDuckdb, queryRows } from '../../../lib/offline/duckdb-session.ts';
import { ingestIdOfObjectPath } from '../../../lib/offline/ingest-records.ts';
import { CommitOutcomeUnknownError } from '../../../lib/offline/ingest-target.ts';
import { compactS3Source } from '../../../lib/offline/s3-compact.ts';
import { isCompactionRecord } from '../../../lib/offline/s3-compact-record.ts';
import { makeTempDir } from '../../helpers/run-fstore.ts';

const s3 = mockClient(S3Client);
let duckdb: DuckdbSession;
let scratch: string;
beforeAll(async () => {
  duckdb = await openDuckdb();
  scratch = await makeTempDir('s3-compact');
});
afterAll(() => duckdb.close());

/**
 * An S3 bucket in memory behind aws-sdk-client-mock: List pages of 2, Get, Put, DeleteObject(s);
 * ETags are the MD5 of the bytes, and `If-None-Match`/`If-Match` answer 412 (404 when missing)
 * as S3 does (the compaction's lock uses them).
 */
class Bucket {
  readonly objects = new Map<string, Buffer>();
  failPut: (key: string) => Error | undefined = () => undefined;
  failGet: (key: string) => Error | undefined = () => undefined;

  constructor() {
    s3.on(ListObjectsV2Command).callsFake(async (input: ListObjectsV2CommandInput) => {
      const after = input.ContinuationToken ?? '';
      const keys = [...this.objects.keys()]
        .sort()
        .filter((k) => k.startsWith(input.Prefix ?? '') && k > after);
      const page = keys.slice(0, 2);
      const truncated = keys.length > 2;
      return {
        Contents: page.map((Key) => ({ Key, Size: this.objects.get(Key)?.length })),
        IsTruncated: truncated,
        ...(truncated ? { NextContinuationToken: page[1] } : {}),
      };
    });
    s3.on(GetObjectCommand).callsFake(async (input: GetObjectCommandInput) => {
      const key = input.Key ?? '';
      const failure = this.failGet(key);
      if (failure) throw failure;
      const bytes = this.objects.get(key);
      if (!bytes)
        throw new NoSuchKey({ message: 'The specified key does not exist.', $metadata: {} });
      return {
        ETag: etagOf(bytes),
        Body: {
          transformToString: async () => bytes.toString('utf8'),
          transformToByteArray: async () => new Uint8Array(bytes),
        },
      };
    });
    s3.on(PutObjectCommand).callsFake(async (input: PutObjectCommandInput) => {
      const failure = this.failPut(input.Key ?? '');
      if (failure) throw failure;
      return this.put(input);
    });
    s3.on(DeleteObjectCommand).callsFake(async (input: DeleteObjectCommandInput) => {
      this.checkCondition(input.Key ?? '', input.IfMatch, undefined);
      this.objects.delete(input.Key ?? '');
      return {};
    });
    s3.on(DeleteObjectsCommand).callsFake(async (input: DeleteObjectsCommandInput) => {
      for (const { Key } of input.Delete?.Objects ?? []) this.objects.delete(Key ?? '');
      return {};
    });
  }

  /** A PutObject as S3 answers it, conditions included. */
  async put(input: PutObjectCommandInput): Promise<{ ETag: string }> {
    const key = input.Key ?? '';
    const bytes = await bodyBytes(input.Body);
    this.checkCondition(key, input.IfMatch, input.IfNoneMatch);
    this.objects.set(key, bytes);
    return { ETag: etagOf(bytes) };
  }

  checkCondition(key: string, ifMatch?: string, ifNoneMatch?: string): void {
    const current = this.objects.get(key);
    const fail = (status: number, name: string) => {
      throw new S3ServiceException({
        name,
        $fault: 'client',
        $metadata: { httpStatusCode: status },
      });
    };
    if (ifNoneMatch === '*' && current) fail(412, 'PreconditionFailed');
    if (ifMatch === undefined) return;
    if (!current) fail(404, 'NoSuchKey');
    else if (ifMatch !== etagOf(current)) fail(412, 'PreconditionFailed');
  }

  snapshot(): Record<string, string> {
    return Object.fromEntries(
      [...this.objects]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, v.toString('base64')]),
    );
  }
}

const etagOf = (bytes: Buffer) => `"${createHash('md5').update(bytes).digest('hex')}"`;
/** The key of a compaction record (not the compaction lock beside them). */
const isRecordKey = (key: string) => key.includes('/compactions/') && !key.endsWith('/_lock.json');

async function bodyBytes(body: unknown): Promise<Buffer> {
  if (typeof body === 'string') return Buffer.from(body);
  const chunks: Buffer[] = [];
  for await (const chunk of body as Readable) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

const ids = ['20260101t000000-0a1b2c3d', '20260102t000000-1b2c3d4e', '20260103t000000-2c3d4e5f'];
const recordKey = (id: string) =>
  `offline/_ingests/orders/${id.replace(/[^0-9a-f]/g, '').padEnd(64, '0')}/${id}.json`;
const dataKey = (dt: string, id: string) => `offline/orders/dt=${dt}/${id}-0.parquet`;

/** A Parquet file of `select`, written by DuckDB, as bytes. */
async function parquet(select: string): Promise<Buffer> {
  const file = path.join(scratch, `p-${Math.random().toString(16).slice(2)}.parquet`);
  await duckdb.connection.run(`COPY (${select}) TO '${file}' (FORMAT parquet)`);
  return readFile(file);
}

const rows = (seqs: number[], extra = '') =>
  `SELECT * FROM (VALUES ${seqs.map((s) => `('C${s % 3}', ${s}.5::DOUBLE, ${s}::BIGINT)`).join(', ')}) t(customer_id, amount, fstore_seq)${extra}`;

/**
 * Three committed ingests of `orders`: dt=2026-03-01 has a file from each (the third with an
 * extra column), dt=2026-03-02 one file, dt=2026-03-03 two files; plus an uncommitted object.
 */
async function seed(bucket: Bucket): Promise<void> {
  for (const id of ids.slice(0, 3)) bucket.objects.set(recordKey(id), Buffer.from('{}'));
  bucket.objects.set(dataKey('2026-03-01', ids[0] as string), await parquet(rows([7, 1, 4])));
  bucket.objects.set(dataKey('2026-03-01', ids[1] as string), await parquet(rows([12, 10])));
  bucket.objects.set(
    dataKey('2026-03-01', ids[2] as string),
    await parquet(`SELECT *, 'x' AS note FROM (${rows([20])})`),
  );
  bucket.objects.set(dataKey('2026-03-02', ids[0] as string), await parquet(rows([2])));
  bucket.objects.set(dataKey('2026-03-03', ids[0] as string), await parquet(rows([3, 5])));
  bucket.objects.set(dataKey('2026-03-03', ids[1] as string), await parquet(rows([11])));
  bucket.objects.set(dataKey('2026-03-03', '20260104t000000-3d4e5f60'), await parquet(rows([99])));
}

/**
 * What a reader that honours compaction records reads of one partition: objects whose ingest id
 * has a record, less those a compaction record replaces; every row with its fstore_seq.
 */
async function readerView(bucket: Bucket, dt: string): Promise<Record<string, unknown>[]> {
  const committed = new Set<string>();
  const replaced = new Set<string>();
  for (const [key, bytes] of bucket.objects) {
    if (!key.startsWith('offline/_ingests/orders/')) continue;
    const record = JSON.parse(bytes.toString('utf8')) as unknown;
    committed.add(
      isCompactionRecord(record) ? record.ingestId : (key.split('/').pop() ?? '').slice(0, -5),
    );
    if (isCompactionRecord(record)) for (const key of record.replaces) replaced.add(key);
  }
  const files: string[] = [];
  for (const [key, bytes] of bucket.objects) {
    if (!key.startsWith(`offline/orders/dt=${dt}/`) || replaced.has(key)) continue;
    if (!committed.has(ingestIdOfObjectPath(key) ?? '')) continue;
    const file = path.join(scratch, `r-${Math.random().toString(16).slice(2)}.parquet`);
    await writeFile(file, bytes);
    files.push(file);
  }
  if (files.length === 0) return [];
  return queryRows(
    duckdb.connection,
    `SELECT customer_id, amount, fstore_seq FROM read_parquet([${files.map((f) => `'${f}'`).join(', ')}], union_by_name = true) ORDER BY fstore_seq`,
  );
}

const options = () => ({
  s3: new S3Client({ region: 'eu-west-1' }),
  bucket: 'offline-bucket',
  region: 'eu-west-1',
  source: 'orders',
  prefix: 'offline/orders/',
  targetBytes: 1024 ** 2,
  keepReplacedMs: 60 * 60_000,
  workDir: scratch,
  now: () => new Date('2026-04-01T12:00:00Z'),
});

const dataObjects = (bucket: Bucket) =>
  [...bucket.objects.keys()].filter((k) => k.startsWith('offline/orders/')).length;

describe('compacting an S3 source (aws-sdk-client-mock, real Parquet merged by DuckDB)', () => {
  beforeEach(() => s3.reset());

  it('merges the same-column objects of each partition, rows and fstore_seq unchanged, committed by one record', async () => {
    const bucket = new Bucket();
    await seed(bucket);
    const before = await Promise.all(
      ['2026-03-01', '2026-03-02', '2026-03-03'].map((dt) => readerView(bucket, dt)),
    );
    const result = await compactS3Source(options());

    expect(
      result.merges.map((m) => [m.partition, m.replaced.map((o) => o.key), m.merged.length]),
    ).toEqual([
      [
        'dt=2026-03-01',
        [dataKey('2026-03-01', ids[0] as string), dataKey('2026-03-01', ids[1] as string)],
        1,
      ],
      [
        'dt=2026-03-03',
        [dataKey('2026-03-03', ids[0] as string), dataKey('2026-03-03', ids[1] as string)],
        1,
      ],
    ]);
    const record = result.record;
    expect(record).toMatchObject({
      kind: 'compaction',
      source: 'orders',
      at: '2026-04-01T12:00:00.000Z',
      keepUntil: '2026-04-01T13:00:00.000Z',
    });
    const stored = JSON.parse(
      bucket.objects
        .get(`offline/_ingests/orders/compactions/${record?.ingestId}.json`)
        ?.toString() ?? '',
    );
    expect(stored).toEqual(record);
    expect(stored.files).toEqual(result.merges.flatMap((m) => m.merged.map((o) => o.key)));
    // the replaced objects stay for queries that listed them before the commit
    for (const key of record?.replaces ?? []) expect(bucket.objects.has(key)).toBe(true);
    const after = await Promise.all(
      ['2026-03-01', '2026-03-02', '2026-03-03'].map((dt) => readerView(bucket, dt)),
    );
    expect(after).toEqual(before);
    expect(before[0]?.map((r) => r.fstore_seq)).toEqual([1, 4, 7, 10, 12, 20]);
    // the merged object holds its rows in fstore_seq order
    const merged = path.join(scratch, 'merged.parquet');
    await writeFile(merged, bucket.objects.get(result.merges[0]?.merged[0]?.key ?? '') as Buffer);
    const inFile = await queryRows(duckdb.connection, `SELECT fstore_seq FROM '${merged}'`);
    expect(inFile.map((r) => r.fstore_seq)).toEqual([1, 4, 7, 10, 12]);
  });

  it('plans the next compaction from the record: replaced objects are gone from it, the merged one is committed', async () => {
    const bucket = new Bucket();
    await seed(bucket);
    const first = await compactS3Source(options());
    const next = await compactS3Source(options());
    expect(next.merges).toEqual([]);
    expect(next.plan.uncommittedObjects).toBe(1 + (first.record?.replaces.length ?? 0));
    expect(next.plan.committedObjects).toBe(2 + 2);
  });

  it('a failed upload deletes the merged objects already uploaded and writes no record: the bucket is as before', async () => {
    const bucket = new Bucket();
    await seed(bucket);
    const before = bucket.snapshot();
    bucket.failPut = (key) =>
      key.startsWith('offline/orders/dt=2026-03-03/') ? new Error('connection reset') : undefined;
    await expect(compactS3Source(options())).rejects.toThrow('connection reset');
    expect(bucket.snapshot()).toEqual(before);
    expect(
      s3
        .commandCalls(PutObjectCommand)
        .some((c) => c.args[0].input.Key?.startsWith('offline/orders/dt=2026-03-01/')),
    ).toBe(true);
  });

  it('a record put S3 refused leaves the bucket as before', async () => {
    const bucket = new Bucket();
    await seed(bucket);
    const before = bucket.snapshot();
    bucket.failPut = (key) =>
      isRecordKey(key)
        ? new S3ServiceException({
            name: 'AccessDenied',
            $fault: 'client',
            $metadata: { httpStatusCode: 403 },
            message: 'Access Denied',
          })
        : undefined;
    await expect(compactS3Source(options())).rejects.toThrow('Access Denied');
    expect(bucket.snapshot()).toEqual(before);
  });

  it('a record put that timed out keeps the merged objects, so a record landing later reads every row once', async () => {
    const bucket = new Bucket();
    await seed(bucket);
    const dts = ['2026-03-01', '2026-03-02', '2026-03-03'];
    const rowsBefore = await Promise.all(dts.map((dt) => readerView(bucket, dt)));
    let late: [string, Buffer] | undefined;
    s3.on(PutObjectCommand).callsFake(async (input: PutObjectCommandInput) => {
      const key = input.Key ?? '';
      if (!isRecordKey(key)) return bucket.put(input);
      late = [key, await bodyBytes(input.Body)];
      throw Object.assign(new Error('socket timed out'), { name: 'TimeoutError' });
    });
    const error = await compactS3Source(options()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommitOutcomeUnknownError);
    expect(s3.commandCalls(DeleteObjectsCommand)).toHaveLength(0);
    if (late) bucket.objects.set(...late);
    expect(await Promise.all(dts.map((dt) => readerView(bucket, dt)))).toEqual(rowsBefore);
  });

  it('a record whose outcome cannot be learned keeps the merged objects, which it may have committed', async () => {
    const bucket = new Bucket();
    await seed(bucket);
    bucket.failPut = (key) => (isRecordKey(key) ? new Error('timeout') : undefined);
    bucket.failGet = (key) => (isRecordKey(key) ? new Error('HTTP 500') : undefined);
    const before = dataObjects(bucket);
    const error = await compactS3Source(options()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommitOutcomeUnknownError);
    expect(dataObjects(bucket)).toBe(before + 2);
  });

  it('a stop request before the commit changes nothing', async () => {
    const bucket = new Bucket();
    await seed(bucket);
    const before = bucket.snapshot();
    const stop = new AbortController();
    // stop while the second partition's objects download, after the first merge was uploaded
    bucket.failGet = (key) => {
      if (key.startsWith('offline/orders/dt=2026-03-03/')) stop.abort();
      return undefined;
    };
    await expect(compactS3Source({ ...options(), signal: stop.signal })).rejects.toThrow(/abort/i);
    expect(bucket.snapshot()).toEqual(before);
    expect(s3.commandCalls(PutObjectCommand).length).toBeGreaterThan(0);
  });
});
