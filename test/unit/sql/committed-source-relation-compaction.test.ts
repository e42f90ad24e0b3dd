import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type DuckdbSession, openDuckdb } from '../../../lib/offline/duckdb-session.ts';
import { ingestRecordKey } from '../../../lib/offline/ingest-records.ts';
import { compactS3Source } from '../../../lib/offline/s3-compact.ts';
import { compactionRecordKey } from '../../../lib/offline/s3-compact-record.ts';
import { readThroughAthenaRelation } from '../../helpers/athena-relation-on-duckdb.ts';
import { makeTempDir } from '../../helpers/run-fstore.ts';
import {
  type MemoryBucket,
  memoryBucketClient,
  startMemoryBucket,
} from '../../helpers/s3-memory-bucket.ts';

let bucket: MemoryBucket;
let s3: S3Client;
let duckdb: DuckdbSession;
let scratch: string;
beforeAll(async () => {
  bucket = await startMemoryBucket('offline-bucket');
  s3 = memoryBucketClient(bucket);
  duckdb = await openDuckdb();
  scratch = await makeTempDir('relation-compaction');
});
afterAll(async () => {
  duckdb.close();
  await bucket.close();
});
beforeEach(() => bucket.objects.clear());

const ids = ['20260101t000000-0a1b2c3d', '20260102t000000-1b2c3d4e', '20260103t000000-2c3d4e5f'];
const dataKey = (dt: string, id: string) => `offline/orders/dt=${dt}/${id}-0.parquet`;

async function parquet(seqs: number[]): Promise<Buffer> {
  const file = path.join(scratch, `p-${Math.random().toString(16).slice(2)}.parquet`);
  await duckdb.connection.run(
    `COPY (SELECT * FROM (VALUES ${seqs.map((s) => `('C${s % 3}', ${s}.5::DOUBLE, ${s}::BIGINT)`).join(', ')}) t(customer_id, amount, fstore_seq)) TO '${file}' (FORMAT parquet)`,
  );
  return readFile(file);
}

/** An ingest's objects and then its record, as `fstore ingest --env <aws>` commits them. */
async function ingest(id: string, files: Record<string, number[]>): Promise<void> {
  const keys: string[] = [];
  for (const [dt, seqs] of Object.entries(files)) {
    bucket.objects.set(dataKey(dt, id), await parquet(seqs));
    keys.push(dataKey(dt, id));
  }
  const rows = Object.values(files).flat();
  bucket.objects.set(
    ingestRecordKey('orders', 'a'.repeat(64), id),
    Buffer.from(
      `${JSON.stringify({ ingestId: id, source: 'orders', sha256: 'a'.repeat(64), file: 'x.csv', rows: rows.length, firstSeq: Math.min(...rows), at: '2026-03-01T00:00:00Z', files: keys })}\n`,
    ),
  );
}

/** Three ingests: dt=2026-03-01 has an object of each, dt=2026-03-02 one, plus an uncommitted one. */
async function seed(): Promise<void> {
  await ingest(ids[0] as string, { '2026-03-01': [1, 4], '2026-03-02': [2] });
  await ingest(ids[1] as string, { '2026-03-01': [10, 12] });
  await ingest(ids[2] as string, { '2026-03-01': [20] });
  bucket.objects.set(dataKey('2026-03-01', '20260104t000000-3d4e5f60'), await parquet([99]));
}

const read = (where?: string) =>
  readThroughAthenaRelation(duckdb.connection, {
    objects: bucket.objects,
    bucket: 'offline-bucket',
    source: 'orders',
    scratch,
    ...(where ? { where } : {}),
  });
const seqsOf = (rows: Record<string, unknown>[]) => rows.map((r) => Number(r.fstore_seq));
const objectsOf = (rows: Record<string, unknown>[]) =>
  [...new Set(rows.map((r) => String(r.object)))].sort();

const lockOwner = () =>
  JSON.parse(
    bucket.objects.get('offline/_ingests/orders/compactions/_lock.json')?.toString() ?? '{}',
  ).owner as string;

const compact = (breakLockOwner?: string) =>
  compactS3Source({
    s3,
    bucket: 'offline-bucket',
    region: 'eu-west-1',
    source: 'orders',
    prefix: 'offline/orders/',
    targetBytes: 1024 * 1024,
    keepReplacedMs: 3_600_000,
    workDir: scratch,
    ...(breakLockOwner ? { breakLockOwner } : {}),
  });

describe("the Athena source relation over a compacted S3 store (the relation's SQL run by DuckDB)", () => {
  it('reads the objects of committed ingests only, each row once', async () => {
    await seed();
    const rows = await read();
    expect(seqsOf(rows)).toEqual([1, 2, 4, 10, 12, 20]);
  });

  it('after a compaction reads each row once, from the merged object instead of those it replaces', async () => {
    await seed();
    const before = await read();
    const result = await compact();
    expect(result.record?.replaces).toHaveLength(3);
    // The replaced objects are still in the bucket (kept until keepUntil) ...
    for (const key of result.record?.replaces ?? []) expect(bucket.objects.has(key)).toBe(true);
    const after = await read();
    // ... but not read: the same rows, once each, with the same values.
    expect(after.map(({ object: _, ...row }) => row)).toEqual(
      before.map(({ object: _, ...row }) => row),
    );
    const merged = `s3://offline-bucket/offline/orders/dt=2026-03-01/${result.record?.ingestId}-0.parquet`;
    expect(objectsOf(after)).toEqual([
      merged,
      `s3://offline-bucket/${dataKey('2026-03-02', ids[0] as string)}`,
    ]);
  });

  it('reads the old objects only while the compaction has no record (stopped after its uploads, before its commit)', async () => {
    await seed();
    const before = await read();
    const result = await compact();
    const recordKey = compactionRecordKey('orders', result.record?.ingestId as string);
    // A kill -9 between the last upload and the record's PutObject leaves exactly this.
    bucket.objects.delete(recordKey);
    const rows = await read();
    expect(rows).toEqual(before);
    expect(objectsOf(rows).some((o) => o.includes(result.record?.ingestId as string))).toBe(false);
  });

  it('reads an ingest committed after the compaction, and a second compaction replaces the first one’s object', async () => {
    await seed();
    const first = await compact();
    await ingest('20260105t000000-4e5f6071', { '2026-03-01': [30], '2026-03-03': [31] });
    expect(seqsOf(await read())).toEqual([1, 2, 4, 10, 12, 20, 30, 31]);
    const second = await compact();
    expect(second.record?.replaces).toContain(
      `offline/orders/dt=2026-03-01/${first.record?.ingestId}-0.parquet`,
    );
    const rows = await read();
    expect(seqsOf(rows)).toEqual([1, 2, 4, 10, 12, 20, 30, 31]);
    expect(objectsOf(rows).filter((o) => o.includes('dt=2026-03-01'))).toEqual([
      `s3://offline-bucket/offline/orders/dt=2026-03-01/${second.record?.ingestId}-0.parquet`,
    ]);
  });

  it('deletes the replaced objects in a compaction run after their keepUntil, not before, and reads the same rows', async () => {
    await seed();
    const before = await read();
    const first = await compact();
    const replaced = first.record?.replaces ?? [];
    const keepUntil = Date.parse(first.record?.keepUntil as string);
    const again = (at: number) =>
      compactS3Source({
        s3,
        bucket: 'offline-bucket',
        region: 'eu-west-1',
        source: 'orders',
        prefix: 'offline/orders/',
        targetBytes: 1024 * 1024,
        keepReplacedMs: 3_600_000,
        workDir: scratch,
        now: () => new Date(at),
      });
    expect((await again(keepUntil - 1)).deletedReplaced).toBe(0);
    for (const key of replaced) expect(bucket.objects.has(key)).toBe(true);
    expect((await again(keepUntil)).deletedReplaced).toBe(3);
    for (const key of replaced) expect(bucket.objects.has(key)).toBe(false);
    const rows = await read();
    expect(rows.map(({ object: _, ...row }) => row)).toEqual(
      before.map(({ object: _, ...row }) => row),
    );
  });

  it('refuses to commit when another compaction committed the same objects meanwhile (its lock broken), so no row is read twice', async () => {
    await seed();
    const before = await read();
    // A second S3 client whose first data upload lets a whole other compaction run and commit,
    // one that broke the first one's lock (--break-lock of a live run): the re-check behind the
    // lock still refuses.
    const racing = memoryBucketClient(bucket);
    let other: Awaited<ReturnType<typeof compact>> | undefined;
    racing.middlewareStack.add(
      (next, context) => async (args) => {
        const key = (args.input as { Key?: string }).Key ?? '';
        if (
          context.commandName === 'PutObjectCommand' &&
          key.startsWith('offline/orders/') &&
          !other
        )
          other = await compact(lockOwner());
        return next(args);
      },
      { step: 'initialize' },
    );
    await expect(
      compactS3Source({
        s3: racing,
        bucket: 'offline-bucket',
        region: 'eu-west-1',
        source: 'orders',
        prefix: 'offline/orders/',
        targetBytes: 1024 * 1024,
        keepReplacedMs: 3_600_000,
        workDir: scratch,
      }),
    ).rejects.toThrow('another compaction committed meanwhile');
    expect(other?.record).toBeDefined();
    const rows = await read();
    expect(rows.map(({ object: _, ...row }) => row)).toEqual(
      before.map(({ object: _, ...row }) => row),
    );
    // The refused run's uploads are gone; only the other compaction's merged object is new.
    const merged = [...bucket.objects.keys()].filter(
      (k) =>
        k.startsWith('offline/orders/') &&
        !ids.some((id) => k.includes(id)) &&
        !k.includes('20260104t'),
    );
    expect(merged).toEqual(other?.record?.files);
  });

  it('keeps a dt predicate outside the relation working, and reads nothing of a source with no record', async () => {
    await seed();
    await compact();
    expect(seqsOf(await read(`dt = '2026-03-02'`))).toEqual([2]);
    bucket.objects.clear();
    bucket.objects.set(dataKey('2026-03-01', ids[0] as string), await parquet([1]));
    expect(await read()).toEqual([]);
  });
});
