import { readdir, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type DuckdbSession, openDuckdb, queryRows } from '../../lib/offline/duckdb-session.ts';
import { PushIngestRun } from '../../lib/offline/push-ingest-run.ts';
import { ingestS3PushStaging, type S3PushIngestResult } from '../../lib/offline/s3-push-ingest.ts';
import { pushRegistry } from '../helpers/push-registry.ts';
import { makeTempDir } from '../helpers/run-fstore.ts';
import {
  type MemoryBucket,
  memoryBucketClient,
  startMemoryBucket,
} from '../helpers/s3-memory-bucket.ts';
import { stagePushObject } from '../helpers/staged-push-objects.ts';

const registry = pushRegistry();
let bucket: MemoryBucket;
let s3: S3Client;
let duckdb: DuckdbSession;
let scratch: string;
beforeAll(async () => {
  bucket = await startMemoryBucket('offline-bucket', { pageSize: 3 });
  s3 = memoryBucketClient(bucket);
  duckdb = await openDuckdb();
  scratch = await makeTempDir('s3-push-ingest-set-aside');
});
afterAll(async () => {
  duckdb.close();
  await bucket.close();
});
beforeEach(() => {
  bucket.objects.clear();
  bucket.modified.clear();
  bucket.beforeRequest = undefined;
  bucket.deleteObjectsError = undefined;
});

/** A payments object staged as Firehose writes it; amount 20,000 breaks the registry's max. */
const stage = (name: string, customer: string, amount?: number) =>
  stagePushObject({ bucket, duckdb: duckdb.connection, scratch }, 'payments', name, [
    { pushId: `p-${name}`, customer, ...(amount !== undefined ? { amount } : {}) },
  ]);

const run = (extra: Partial<Parameters<typeof ingestS3PushStaging>[0]> = {}) =>
  ingestS3PushStaging({
    s3,
    bucket: bucket.name,
    registry,
    source: 'payments',
    workDir: scratch,
    ...extra,
  });

const keys = (prefix: string) =>
  [...bucket.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
const staged = () => keys('offline/_push/payments/arrived=');
const refusedCopyOf = (key: string) =>
  bucket.objects.get(`offline/_push/payments/_refused/${path.posix.basename(key)}`);

/** Calls the ingest with one run as the scheduled compaction does, until it says to stop. */
async function ingestUntilStopped(pushRun: PushIngestRun): Promise<S3PushIngestResult[]> {
  const results: S3PushIngestResult[] = [];
  for (let i = 0; i < 8; i++) {
    const result = await run({ run: pushRun });
    results.push(result);
    if (result.stopped || !result.narrowed) break;
  }
  return results;
}

let committedFile = 0;
/** The customers of the committed rows, in commit order (objects named by an ingest record). */
async function committedCustomers(): Promise<string[]> {
  const files: string[] = [];
  for (const record of keys('offline/_ingests/payments/')) {
    const { files: named = [] } = JSON.parse(bucket.objects.get(record)?.toString('utf8') ?? '{}');
    for (const key of named as string[]) {
      const local = path.join(scratch, `committed-${committedFile++}.parquet`);
      await writeFile(local, bucket.objects.get(key) ?? Buffer.alloc(0));
      files.push(local);
    }
  }
  if (files.length === 0) return [];
  const rows = await queryRows(
    duckdb.connection,
    `SELECT customer_id FROM read_parquet([${files.map((f) => `'${f}'`).join(', ')}]) ORDER BY fstore_seq`,
  );
  return rows.map((r) => String(r.customer_id));
}

describe('push compaction setting staged objects aside', () => {
  it('sets aside the bytes S3 holds, not the run’s local copy: an object whose every download arrives damaged is copied aside by S3', async () => {
    await stage('a', 'A');
    const c = await stage('c', 'C');
    const original = bucket.objects.get(c) ?? Buffer.alloc(0);
    // Each GET of c answers 100 bytes of it (a download damaged on the way or on this disk);
    // any other request, the CopyObject included, finds the object S3 holds.
    bucket.beforeRequest = (method, key) => {
      if (bucket.objects.has(c))
        bucket.objects.set(c, method === 'GET' && key === c ? original.subarray(0, 100) : original);
      return undefined;
    };
    const pushRun = await PushIngestRun.open({ workDir: scratch });
    try {
      await ingestUntilStopped(pushRun);
    } finally {
      await pushRun.close();
    }
    expect(staged()).toEqual([]);
    expect(refusedCopyOf(c)?.equals(original)).toBe(true);
    expect(await committedCustomers()).toEqual(['A']);
  });

  it('sets an object DuckDB names unreadable aside in one step, after one fresh download, and ingests the others of its batch next', async () => {
    const objects = [];
    for (const name of ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'])
      objects.push(await stage(name, name.toUpperCase()));
    const bad = objects[4] ?? '';
    bucket.objects.set(bad, Buffer.from('not parquet at all'));
    const before = bucket.requests.length;
    const pushRun = await PushIngestRun.open({ workDir: scratch });
    let results: S3PushIngestResult[];
    try {
      results = await ingestUntilStopped(pushRun);
    } finally {
      await pushRun.close();
    }
    // Halving would ingest a-d first and need two more calls to reach e.
    expect(results[0]).toMatchObject({
      objects: 0,
      refused: { key: bad, reason: expect.stringMatching(/cannot be read as Parquet/) },
    });
    expect(results.slice(1)).toEqual([expect.objectContaining({ objects: 7, rows: 7 })]);
    expect(staged()).toEqual([]);
    expect(await committedCustomers()).toEqual(['A', 'B', 'C', 'D', 'F', 'G', 'H']);
    const gets = bucket.requests
      .slice(before)
      .filter((r) => r.startsWith('GET offline/_push/payments/arrived='));
    expect(gets.filter((r) => r === `GET ${bad}`)).toHaveLength(2);
    expect(gets).toHaveLength(9);
  });

  it.each([
    ['its footer zeroed (TProtocolException)', (footer: Buffer) => footer.fill(0)],
    [
      "its footer's start overwritten (don't know what type)",
      (footer: Buffer) => footer.fill(0xee, 0, 10),
    ],
  ])(
    'sets aside an object with %s, which DuckDB reports without naming the file, and ingests the others',
    async (_name, damage) => {
      const a = await stage('a', 'A');
      const bad = await stage('b', 'B');
      await stage('c', 'C');
      const bytes = Buffer.from(bucket.objects.get(bad) ?? Buffer.alloc(0));
      const footerLength = bytes.readUInt32LE(bytes.length - 8);
      damage(bytes.subarray(bytes.length - 8 - footerLength, bytes.length - 8));
      bucket.objects.set(bad, bytes);
      const pushRun = await PushIngestRun.open({ workDir: scratch });
      let results: S3PushIngestResult[];
      try {
        results = await ingestUntilStopped(pushRun);
      } finally {
        await pushRun.close();
      }
      expect(results[0]).toMatchObject({
        objects: 0,
        refused: { key: bad, reason: expect.stringMatching(/cannot be read as Parquet/) },
      });
      expect(staged()).toEqual([]);
      expect(refusedCopyOf(bad)?.equals(bytes)).toBe(true);
      expect(await committedCustomers()).toEqual(['A', 'C']);
      expect(a).not.toBe(bad);
    },
  );

  it('downloads an object again when its local copy is damaged after the download, and ingests it: nothing is set aside', async () => {
    const a = await stage('a', 'A');
    const b = await stage('b', 'B');
    const pushRun = await PushIngestRun.open({ workDir: scratch });
    try {
      // A first call stopped after both downloads, before its manifest: both stay in the run.
      const stop = new AbortController();
      bucket.beforeRequest = (method, key) => {
        if (method === 'GET' && key === b) stop.abort(new Error('stopped by the test'));
        return undefined;
      };
      await expect(run({ run: pushRun, signal: stop.signal })).rejects.toThrow(
        /stopped by the test/,
      );
      bucket.beforeRequest = undefined;
      const files = (await readdir(pushRun.dir)).sort();
      expect(files).toHaveLength(2);
      await truncate(path.join(pushRun.dir, files[0] ?? ''), 100);
      const before = bucket.requests.length;
      expect(await run({ run: pushRun })).toMatchObject({ objects: 2, rows: 2 });
      expect(
        bucket.requests
          .slice(before)
          .filter((r) => r.startsWith('GET offline/_push/payments/arrived=')),
      ).toEqual([`GET ${a}`]);
    } finally {
      await pushRun.close();
    }
    expect(keys('offline/_push/payments/_refused/')).toEqual([]);
    expect(staged()).toEqual([]);
    expect(await committedCustomers()).toEqual(['A', 'B']);
  });

  it('reports the set-aside cap only while objects still wait: the last of exactly maxSetAside refused objects leaves nothing staged and no stop', async () => {
    await stage('x', 'X', 20_000);
    await stage('y', 'Y', 20_000);
    const pushRun = await PushIngestRun.open({ workDir: scratch, maxSetAside: 2 });
    let results: S3PushIngestResult[];
    try {
      results = await ingestUntilStopped(pushRun);
    } finally {
      await pushRun.close();
    }
    expect(staged()).toEqual([]);
    expect(results.flatMap((r) => (r.refused ? [r.refused.key] : []))).toHaveLength(2);
    expect(results.map((r) => r.stopped)).toEqual(results.map(() => undefined));
  });

  it('fails the call naming the key and S3’s code when a DeleteObjects leaves a staged object; the next call finishes the batch without a second ingest', async () => {
    await stage('a', 'A');
    const b = await stage('b', 'B');
    bucket.deleteObjectsError = (key) =>
      key === b ? { code: 'AccessDenied', message: 'Access Denied' } : undefined;
    const failure = run();
    await expect(failure).rejects.toThrow(path.posix.basename(b));
    await expect(failure).rejects.toThrow(/AccessDenied/);
    expect(staged()).toEqual([b]);
    expect(keys('offline/_push/payments/_batches/')).toHaveLength(1);
    bucket.deleteObjectsError = undefined;
    expect(await run()).toMatchObject({ recovered: 'finished', objects: 0 });
    expect(staged()).toEqual([]);
    expect(keys('offline/_push/payments/_batches/')).toEqual([]);
    expect(await committedCustomers()).toEqual(['A', 'B']);
  });

  it('reads an object written again under the same key during a run anew, not the copy downloaded before', async () => {
    await stage('a', 'A');
    await stage('b', 'B', 20_000);
    const c = await stage('c', 'OLD');
    const pushRun = await PushIngestRun.open({ workDir: scratch });
    try {
      // Halves [a, b, c] down to [a]: c is downloaded and kept for the run.
      expect(await run({ run: pushRun })).toMatchObject({ objects: 1, narrowed: true });
      const rewritten = await stage('c-again', 'NEW');
      bucket.objects.set(c, bucket.objects.get(rewritten) ?? Buffer.alloc(0));
      bucket.objects.delete(rewritten);
      await ingestUntilStopped(pushRun);
    } finally {
      await pushRun.close();
    }
    expect(staged()).toEqual([]);
    expect(await committedCustomers()).toEqual(['A', 'NEW']);
  });
});

describe('push compaction removing the _refused/ twin of an object it ingests (a set-aside cut short, then the definition fixed)', () => {
  const refused = 'offline/_push/payments/_refused/';
  const maxLifted = () => JSON.parse(JSON.stringify(registry).replace('"max":10000,', ''));
  /** Objects an operator keeps set aside, from earlier runs. */
  const keptAside = () =>
    ['k1', 'k2', 'k3', 'k4', 'k5'].flatMap((n) => [
      `${refused}${n}.parquet`,
      `${refused}${n}.parquet.reason.json`,
    ]);
  const setKeptAside = () => {
    for (const key of keptAside()) bucket.objects.set(key, Buffer.from('{}'));
  };

  it('finishes a batch without listing _refused/, however many objects an operator keeps there', async () => {
    setKeptAside();
    await stage('a', 'A');
    await stage('b', 'B');
    const before = bucket.listed.length;
    expect(await run()).toMatchObject({ objects: 2 });
    expect(bucket.listed.slice(before).filter((p) => p.startsWith(refused))).toEqual([]);
    expect(keys(refused)).toEqual(keptAside());
  });

  it("deletes the twin of an object whose set-aside stopped before deleting it, listing only that object's twin", async () => {
    setKeptAside();
    const b = await stage('b', 'B', 20_000);
    bucket.beforeRequest = (method, k) =>
      method === 'DELETE' && k === b ? { status: 500, code: 'InternalError' } : undefined;
    await expect(run()).rejects.toThrow();
    bucket.beforeRequest = undefined;
    expect(keys(refused)).toHaveLength(keptAside().length + 2);
    const before = bucket.listed.length;
    const absentBefore = bucket.absentDeletes.length;
    expect(await run({ registry: maxLifted() })).toMatchObject({ objects: 1, rows: 1 });
    expect(bucket.listed.slice(before).filter((p) => p.startsWith(refused))).toEqual([
      `${refused}${path.posix.basename(b)}`,
    ]);
    expect(keys(refused)).toEqual(keptAside());
    expect(staged()).toEqual([]);
    expect(keys('offline/_push/payments/_batches/')).toEqual([]);
    expect(bucket.absentDeletes.slice(absentBefore)).toEqual([]);
  });

  it('deletes no twin key of an object whose set-aside stopped before its copy: no delete marker in a versioned bucket', async () => {
    const b = await stage('b', 'B', 20_000);
    bucket.beforeRequest = (method, k, headers) =>
      method === 'PUT' && k.startsWith(refused) && headers['x-amz-copy-source'] !== undefined
        ? { status: 403, code: 'AccessDenied' }
        : undefined;
    await expect(run()).rejects.toThrow();
    bucket.beforeRequest = undefined;
    expect(keys(refused)).toEqual([]);
    expect(staged()).toEqual([b]);
    const absentBefore = bucket.absentDeletes.length;
    expect(await run({ registry: maxLifted() })).toMatchObject({ objects: 1, rows: 1 });
    expect(bucket.absentDeletes.slice(absentBefore)).toEqual([]);
    expect(staged()).toEqual([]);
    expect(keys('offline/_push/payments/_batches/')).toEqual([]);
  });
});
