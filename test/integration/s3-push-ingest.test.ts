import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type DuckdbSession, openDuckdb, queryRows } from '../../lib/offline/duckdb-session.ts';
import { PushIngestRun } from '../../lib/offline/push-ingest-run.ts';
import { compactionLockKey } from '../../lib/offline/s3-compact-record.ts';
import { acquireS3Lock } from '../../lib/offline/s3-lock.ts';
import { ingestS3PushStaging } from '../../lib/offline/s3-push-ingest.ts';
import { pushRegistry } from '../helpers/push-registry.ts';
import { makeTempDir } from '../helpers/run-fstore.ts';
import {
  type MemoryBucket,
  memoryBucketClient,
  startMemoryBucket,
} from '../helpers/s3-memory-bucket.ts';

const registry = pushRegistry();
let bucket: MemoryBucket;
let s3: S3Client;
let duckdb: DuckdbSession;
let scratch: string;
beforeAll(async () => {
  bucket = await startMemoryBucket('offline-bucket', { pageSize: 3 });
  s3 = memoryBucketClient(bucket);
  duckdb = await openDuckdb();
  scratch = await makeTempDir('s3-push-ingest');
});
afterAll(async () => {
  duckdb.close();
  await bucket.close();
});
beforeEach(() => {
  bucket.objects.clear();
  bucket.modified.clear();
  bucket.beforeRequest = undefined;
});

// 2026-03-01T12:00:00.123456Z as Firehose stores it: epoch microseconds.
const t0 = 1772366400123456n;
let fileNumber = 0;

/** A Parquet object as Firehose writes it against fstore_push_payments, placed in the staging prefix. */
async function stage(
  name: string,
  rows: { pushId: string; row: number; customer: string; account?: bigint; amount?: number }[],
): Promise<string> {
  const local = path.join(scratch, `staged-${fileNumber++}.parquet`);
  const values = rows
    .map(
      (r) =>
        `('${r.customer}', ${r.account ?? 7n}::BIGINT, ${r.amount ?? 12.5}::DOUBLE, 'ok', false, [0.5, 1]::FLOAT[], ${t0}::BIGINT, ${t0}::BIGINT, '${r.pushId}', ${r.row}::INTEGER, NULL::VARCHAR)`,
    )
    .join(', ');
  await duckdb.connection.run(
    `COPY (SELECT * FROM (VALUES ${values}) v(customer_id, account_id, amount, status, flagged, scores, event_ts, created_ts, fstore_push_id, fstore_push_row, fstore_idempotency_key)) TO '${local}' (FORMAT parquet)`,
  );
  const key = `offline/_push/payments/arrived=2026-03-01/${name}.parquet`;
  bucket.objects.set(key, await readFile(local));
  return key;
}

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

/** The committed rows of payments as Athena's relation would read them: objects named by a record. */
async function committedRows() {
  const records = keys('offline/_ingests/payments/').map(
    (k) => JSON.parse(bucket.objects.get(k)?.toString('utf8') ?? '{}') as { files: string[] },
  );
  const files: string[] = [];
  for (const key of records.flatMap((r) => r.files)) {
    const local = path.join(scratch, `committed-${fileNumber++}.parquet`);
    await writeFile(local, bucket.objects.get(key) ?? Buffer.alloc(0));
    files.push(local);
  }
  if (files.length === 0) return [];
  return queryRows(
    duckdb.connection,
    `SELECT customer_id, CAST(account_id AS VARCHAR) AS account_id, amount, strftime(event_ts, '%Y-%m-%dT%H:%M:%S.%f') AS event_ts, fstore_seq FROM read_parquet([${files.map((f) => `'${f}'`).join(', ')}]) ORDER BY fstore_seq`,
  );
}

describe('fstore compact --env <aws>: pushed rows Firehose staged become committed ingests', () => {
  it('ingests the staged objects as one commit under dt=, timestamps to the microsecond, int64 exact, in arrival order, then removes them', async () => {
    await stage('fstore-dev-push-payments-1-2026-03-01-12-00-00-a', [
      { pushId: 'p1', row: 0, customer: 'C1', account: 9007199254740993n },
      { pushId: 'p1', row: 1, customer: 'C2' },
    ]);
    await stage('fstore-dev-push-payments-1-2026-03-01-12-01-00-b', [
      { pushId: 'p2', row: 0, customer: 'C3' },
    ]);
    const result = await run();
    expect(result).toMatchObject({ objects: 2, rows: 3, duplicates: 0 });
    expect(keys('offline/_ingests/payments/')).toHaveLength(1);
    expect(keys('offline/payments/dt=2026-03-01/')).toHaveLength(1);
    const rows = await committedRows();
    expect(rows.map((r) => [r.customer_id, r.account_id, r.event_ts])).toEqual([
      ['C1', '9007199254740993', '2026-03-01T12:00:00.123456'],
      ['C2', '7', '2026-03-01T12:00:00.123456'],
      ['C3', '7', '2026-03-01T12:00:00.123456'],
    ]);
    expect(keys('offline/_push/payments/arrived=')).toEqual([]);
    expect(keys('offline/_push/payments/_batches/')).toEqual([]);
    expect(keys('offline/_push/payments/_ledger/')).toHaveLength(1);
    expect(keys('offline/_ingests/payments/compactions/_lock')).toEqual([]);
  });

  it('keeps each (push id, row) once: a record Firehose delivered twice, and one delivered again after its batch committed', async () => {
    await stage('a', [{ pushId: 'p1', row: 0, customer: 'C1' }]);
    await stage('b', [
      { pushId: 'p1', row: 0, customer: 'C1' },
      { pushId: 'p1', row: 1, customer: 'C2' },
    ]);
    expect(await run()).toMatchObject({ rows: 2, duplicates: 1 });
    await stage('c', [
      { pushId: 'p1', row: 1, customer: 'C2' },
      { pushId: 'p9', row: 0, customer: 'C2' },
    ]);
    expect(await run()).toMatchObject({ rows: 1, duplicates: 1 });
    expect((await committedRows()).map((r) => r.customer_id)).toEqual(['C1', 'C2', 'C2']);
  });

  it('does nothing when nothing is staged', async () => {
    expect(await run()).toMatchObject({ objects: 0, rows: 0 });
    expect(bucket.objects.size).toBe(0);
  });

  it('a run whose commit S3 refused changes nothing readable; the next run drops its batch and ingests the rows once', async () => {
    await stage('a', [{ pushId: 'p1', row: 0, customer: 'C1' }]);
    bucket.beforeRequest = (method, key) =>
      method === 'PUT' &&
      key.startsWith('offline/_ingests/payments/') &&
      !key.includes('/compactions/')
        ? { status: 403, code: 'AccessDenied' }
        : undefined;
    await expect(run()).rejects.toThrow();
    expect(keys('offline/_ingests/payments/').filter((k) => !k.includes('compactions'))).toEqual(
      [],
    );
    expect(keys('offline/payments/')).toEqual([]);
    expect(keys('offline/_push/payments/arrived=')).toHaveLength(1);
    expect(keys('offline/_push/payments/_batches/')).toHaveLength(1);
    bucket.beforeRequest = undefined;
    expect(await run()).toMatchObject({ recovered: 'dropped', rows: 1 });
    expect((await committedRows()).map((r) => r.customer_id)).toEqual(['C1']);
  });

  it('a run stopped after its commit (staged objects not yet removed) is finished by the next run without a second ingest', async () => {
    await stage('a', [{ pushId: 'p1', row: 0, customer: 'C1' }]);
    await stage('b', [{ pushId: 'p2', row: 0, customer: 'C2' }]);
    bucket.beforeRequest = (method, key) =>
      method === 'POST' && key === '' ? { status: 500, code: 'InternalError' } : undefined;
    await expect(run()).rejects.toThrow();
    expect(
      keys('offline/_ingests/payments/').filter((k) => !k.includes('compactions')),
    ).toHaveLength(1);
    expect(keys('offline/_push/payments/arrived=')).toHaveLength(2);
    bucket.beforeRequest = undefined;
    expect(await run()).toMatchObject({ recovered: 'finished', objects: 0, rows: 0 });
    expect(
      keys('offline/_ingests/payments/').filter((k) => !k.includes('compactions')),
    ).toHaveLength(1);
    expect((await committedRows()).map((r) => r.customer_id)).toEqual(['C1', 'C2']);
    expect(keys('offline/_push/payments/')).toEqual([
      expect.stringMatching(/^offline\/_push\/payments\/_ledger\/.+\.json$/),
    ]);
  });

  it('refuses to run while another holds the source compaction lock, touching nothing', async () => {
    await stage('a', [{ pushId: 'p1', row: 0, customer: 'C1' }]);
    const held = await acquireS3Lock({
      s3,
      bucket: bucket.name,
      key: compactionLockKey('payments'),
      purpose: 'another run',
      leaseMs: 600_000,
    });
    await expect(run()).rejects.toThrow(/already running/);
    expect(keys('offline/_push/payments/arrived=')).toHaveLength(1);
    expect(keys('offline/payments/')).toEqual([]);
    expect(keys('offline/_push/payments/_batches/')).toEqual([]);
    await held.release();
  });

  it('sets aside a staged object whose rows the ingest refuses (a constraint tightened since the push) and ingests the others around it', async () => {
    await stage('a', [{ pushId: 'p1', row: 0, customer: 'C1' }]);
    await stage('b', [{ pushId: 'p2', row: 0, customer: 'C2', amount: 20_000 }]);
    await stage('c', [{ pushId: 'p3', row: 0, customer: 'C3' }]);
    const results = [];
    for (let i = 0; i < 6 && keys('offline/_push/payments/arrived=').length > 0; i++)
      results.push(await run());
    expect(keys('offline/_push/payments/arrived=')).toEqual([]);
    expect((await committedRows()).map((r) => r.customer_id)).toEqual(['C1', 'C3']);
    const refused = results.flatMap((r) => (r.refused ? [r.refused] : []));
    expect(refused).toEqual([
      {
        key: 'offline/_push/payments/arrived=2026-03-01/b.parquet',
        movedTo: 'offline/_push/payments/_refused/b.parquet',
        reason: expect.stringMatching(/breaks feature constraints/),
      },
    ]);
    expect(keys('offline/_push/payments/_refused/')).toEqual([
      'offline/_push/payments/_refused/b.parquet',
      'offline/_push/payments/_refused/b.parquet.reason.json',
    ]);
    const reason = JSON.parse(
      bucket.objects
        .get('offline/_push/payments/_refused/b.parquet.reason.json')
        ?.toString('utf8') ?? '{}',
    );
    expect(reason).toMatchObject({
      stagedKey: 'offline/_push/payments/arrived=2026-03-01/b.parquet',
    });
    expect(keys('offline/_push/payments/_batches/')).toEqual([]);
  });

  it('removes the _refused/ copy and reason of an object it ingests: a run stopped between setting it aside and deleting it, then the definition fixed', async () => {
    const key = await stage('b', [{ pushId: 'p2', row: 0, customer: 'C2', amount: 20_000 }]);
    bucket.beforeRequest = (method, k) =>
      method === 'DELETE' && k === key ? { status: 500, code: 'InternalError' } : undefined;
    await expect(run()).rejects.toThrow();
    // Both staged and set aside, as a kill between the two leaves it.
    expect(keys('offline/_push/payments/_refused/')).toHaveLength(2);
    expect(keys('offline/_push/payments/arrived=')).toEqual([key]);
    bucket.beforeRequest = undefined;
    const maxLifted = JSON.parse(JSON.stringify(registry).replace('"max":10000,', ''));
    expect(await run({ registry: maxLifted })).toMatchObject({ objects: 1, rows: 1 });
    expect((await committedRows()).map((r) => r.customer_id)).toEqual(['C2']);
    expect(keys('offline/_push/payments/arrived=')).toEqual([]);
    expect(keys('offline/_push/payments/_refused/')).toEqual([]);
  });

  it('sets aside a staged object that is not readable Parquet', async () => {
    await stage('a', [{ pushId: 'p1', row: 0, customer: 'C1' }]);
    bucket.objects.set(
      'offline/_push/payments/arrived=2026-03-01/b.parquet',
      Buffer.from('not parquet at all'),
    );
    // DuckDB names b: set aside at once, no halving; a is taken by the next call.
    const first = await run();
    expect(first).toMatchObject({ objects: 0, narrowed: true });
    expect(first.refused?.reason).toMatch(/cannot be read as Parquet/);
    expect(await run()).toMatchObject({ objects: 1 });
    expect(keys('offline/_push/payments/arrived=')).toEqual([]);
    expect((await committedRows()).map((r) => r.customer_id)).toEqual(['C1']);
  });

  it('downloads each staged object once per run while it halves a batch to find a refused object', async () => {
    for (const name of ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'])
      await stage(name, [
        {
          pushId: `p-${name}`,
          row: 0,
          customer: name,
          ...(name === 'e' ? { amount: 20_000 } : {}),
        },
      ]);
    const before = bucket.requests.length;
    const pushRun = await PushIngestRun.open({ workDir: scratch });
    try {
      for (let i = 0; i < 8 && keys('offline/_push/payments/arrived=').length > 0; i++)
        await run({ run: pushRun });
    } finally {
      await pushRun.close();
    }
    expect(keys('offline/_push/payments/arrived=')).toEqual([]);
    expect(keys('offline/_push/payments/_refused/')).toHaveLength(2);
    expect((await committedRows()).map((r) => r.customer_id)).toEqual([
      'a',
      'b',
      'c',
      'd',
      'f',
      'g',
      'h',
    ]);
    const gets = bucket.requests
      .slice(before)
      .filter((r) => r.startsWith('GET offline/_push/payments/arrived='));
    expect(gets).toHaveLength(8);
    expect(new Set(gets).size).toBe(8);
  });

  it('stops halving when the run has no time left, leaving the batch staged, saying why and noting the half it would have tried next', async () => {
    const a = await stage('a', [{ pushId: 'p1', row: 0, customer: 'C1' }]);
    await stage('b', [{ pushId: 'p2', row: 0, customer: 'C2', amount: 20_000 }]);
    const result = await run({ timeShort: () => true });
    expect(result).toMatchObject({ objects: 0, rows: 0, stopped: 'time' });
    expect(result.refused).toBeUndefined();
    expect(keys('offline/_push/payments/arrived=')).toHaveLength(2);
    expect(keys('offline/_push/payments/_refused/')).toEqual([]);
    const note = 'offline/_push/payments/_batches/_narrowing.json';
    expect(keys('offline/_push/payments/_batches/')).toEqual([note]);
    expect(JSON.parse(bucket.objects.get(note)?.toString('utf8') ?? '{}')).toEqual({ keys: [a] });
  });

  it('drops a narrowing note that no longer names the oldest staged objects and takes the batch as usual', async () => {
    await stage('a', [{ pushId: 'p1', row: 0, customer: 'C1' }]);
    await stage('b', [{ pushId: 'p2', row: 0, customer: 'C2' }]);
    const note = 'offline/_push/payments/_batches/_narrowing.json';
    bucket.objects.set(
      note,
      Buffer.from(
        JSON.stringify({ keys: ['offline/_push/payments/arrived=2026-03-01/b.parquet'] }),
      ),
    );
    expect(await run()).toMatchObject({ objects: 2, rows: 2 });
    expect(keys('offline/_push/payments/_batches/')).toEqual([]);
    expect((await committedRows()).map((r) => r.customer_id)).toEqual(['C1', 'C2']);
  });

  it('reaches a refused object though each run has time for one batch attempt only: the next run tries the half it would have tried', async () => {
    await stage('a', [{ pushId: 'p1', row: 0, customer: 'C1' }]);
    await stage('b', [{ pushId: 'p2', row: 0, customer: 'C2', amount: 20_000 }]);
    await stage('c', [{ pushId: 'p3', row: 0, customer: 'C3' }]);
    await stage('d', [{ pushId: 'p4', row: 0, customer: 'C4' }]);
    const results = [];
    for (let i = 0; i < 12 && keys('offline/_push/payments/arrived=').length > 0; i++)
      results.push(await run({ timeShort: () => true }));
    expect(keys('offline/_push/payments/arrived=')).toEqual([]);
    expect((await committedRows()).map((r) => r.customer_id)).toEqual(['C1', 'C3', 'C4']);
    expect(results.flatMap((r) => (r.refused ? [r.refused.key] : []))).toEqual([
      'offline/_push/payments/arrived=2026-03-01/b.parquet',
    ]);
    expect(keys('offline/_push/payments/_batches/')).toEqual([]);
  });

  it('sets aside at most maxSetAside objects in one run, then stops taking batches of the source and says so', async () => {
    for (const name of ['x', 'y', 'z'])
      await stage(name, [{ pushId: `p-${name}`, row: 0, customer: name, amount: 20_000 }]);
    const pushRun = await PushIngestRun.open({ workDir: scratch, maxSetAside: 2 });
    const results = [];
    try {
      for (let i = 0; i < 6; i++) {
        const result = await run({ run: pushRun });
        results.push(result);
        if (result.stopped) break;
      }
      // Taken again with the same run: nothing more is set aside.
      expect(await run({ run: pushRun })).toMatchObject({ objects: 0, stopped: 'set-aside-cap' });
    } finally {
      await pushRun.close();
    }
    expect(results.flatMap((r) => (r.refused ? [r.refused.key] : []))).toHaveLength(2);
    expect(results.at(-1)).toMatchObject({ stopped: 'set-aside-cap' });
    expect(keys('offline/_push/payments/_refused/')).toHaveLength(4);
    expect(keys('offline/_push/payments/arrived=')).toEqual([
      'offline/_push/payments/arrived=2026-03-01/z.parquet',
    ]);
  });
});
