import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type DuckdbSession, openDuckdb, queryRows } from '../../lib/offline/duckdb-session.ts';
import { ingestS3PushStaging } from '../../lib/offline/s3-push-ingest.ts';
import { firehoseRecords } from '../../lib/push/firehose-records.ts';
import { paymentRow, pushRegistry } from '../helpers/push-registry.ts';
import { makeTempDir } from '../helpers/run-fstore.ts';
import {
  type MemoryBucket,
  memoryBucketClient,
  startMemoryBucket,
} from '../helpers/s3-memory-bucket.ts';
import { stageFirehoseRecords } from '../helpers/staged-push-objects.ts';

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

describe('the dedupe ledger window runs from the staged objects, not from when compaction runs', () => {
  it('a Firehose re-delivery staged 1 h after the first copy committed is still a duplicate when compaction next runs 31 h later', async () => {
    const day1 = new Date('2026-03-01T13:00:00Z');
    bucket.now = () => day1;
    await stage('a', [{ pushId: 'p1', row: 0, customer: 'C1' }]);
    expect(await run({ now: () => day1 })).toMatchObject({ rows: 1, duplicates: 0 });
    // Firehose re-delivers the same record (at-least-once; S3 retries up to 24 h) one hour later.
    const key = await stage('b', [{ pushId: 'p1', row: 0, customer: 'C1' }]);
    bucket.modified.set(key, new Date('2026-03-01T14:00:00Z'));
    const later = new Date('2026-03-02T20:00:00Z');
    bucket.now = () => later;
    expect(await run({ now: () => later })).toMatchObject({ rows: 0, duplicates: 1 });
    expect((await committedRows()).map((r) => r.customer_id)).toEqual(['C1']);
  });

  it('a ledger more than a day older than every staged object waiting is deleted', async () => {
    bucket.now = () => new Date('2026-03-01T13:00:00Z');
    await stage('a', [{ pushId: 'p1', row: 0, customer: 'C1' }]);
    await run();
    expect(keys('offline/_push/payments/_ledger/')).toHaveLength(1);
    const key = await stage('b', [{ pushId: 'p2', row: 0, customer: 'C2' }]);
    bucket.modified.set(key, new Date('2026-03-02T13:00:01Z'));
    bucket.now = () => new Date('2026-03-02T14:00:00Z');
    await run();
    // Only the ledger of the second batch is left.
    expect(keys('offline/_push/payments/_ledger/')).toHaveLength(1);
    expect((await committedRows()).map((r) => r.customer_id)).toEqual(['C1', 'C2']);
  });
});

describe('staged objects are taken in arrival order (the time and version in Firehose names)', () => {
  it('after the stream is updated from version 9 to 10, the later push of a tied row keeps the greater fstore_seq', async () => {
    // Firehose names objects <stream>-<DeliveryStreamVersion>-YYYY-MM-DD-HH-MM-SS-<random>.
    await stage('fstore-dev-push-payments-9-2026-03-01-12-00-00-aaaa', [
      { pushId: 'p1', row: 0, customer: 'C1', amount: 1 },
    ]);
    await stage('fstore-dev-push-payments-10-2026-03-01-12-05-00-bbbb', [
      { pushId: 'p2', row: 0, customer: 'C1', amount: 2 },
    ]);
    await run();
    expect((await committedRows()).map((r) => r.amount)).toEqual([1, 2]);
  });

  it('within a batch, rows are committed in the order of their push keys (push time, then push id) whatever order their objects arrived in; rows staged without a key first, in arrival order', async () => {
    const source = registry.sources.find((s) => s.name === 'payments');
    if (!source) throw new Error('no payments source');
    /** The Firehose records of a push at `atMs` of one tied C1 row worth `amount`. */
    const pushed = (pushId: string, atMs: number, amount: number) =>
      firehoseRecords(
        source,
        [
          {
            index: 0,
            values: paymentRow('2026-03-01T11:00:00.000001Z', { amount }),
            eventTs: 0n,
          },
        ],
        { pushId, pushedAtMs: atMs },
      );
    const at = Date.parse('2026-03-01T12:00:00Z');
    const into = { bucket, duckdb: duckdb.connection, scratch };
    // Arrival: 3 (the latest push), 1, an object staged before the key column, 2 (same
    // millisecond as 1, a greater id).
    await stageFirehoseRecords(into, source, 1, pushed('c'.repeat(32), at + 2, 3));
    await stageFirehoseRecords(into, source, 2, pushed('a'.repeat(32), at, 1));
    await stage('fstore-dev-push-payments-1-2026-03-01-12-00-03-cccc', [
      { pushId: 'old', row: 0, customer: 'C1', amount: 0 },
    ]);
    await stageFirehoseRecords(into, source, 4, pushed('b'.repeat(32), at, 2));
    expect(await run()).toMatchObject({ objects: 4, rows: 4 });
    expect((await committedRows()).map((r) => r.amount)).toEqual([0, 1, 2, 3]);
    // The record names each keyed push's first row and key (not the keyless row).
    const [record] = keys('offline/_ingests/payments/').map((k) =>
      JSON.parse(bucket.objects.get(k)?.toString('utf8') ?? '{}'),
    );
    expect(record.pushLogs).toEqual([
      [1, `20260301T120000.000000-${'a'.repeat(32)}`],
      [2, `20260301T120000.000000-${'b'.repeat(32)}`],
      [3, `20260301T120000.002000-${'c'.repeat(32)}`],
    ]);
  });

  it('a batch smaller than the objects waiting takes the oldest by name time, then LastModified for names without one', async () => {
    await stage('fstore-dev-push-payments-10-2026-03-01-12-05-00-bbbb', [
      { pushId: 'p2', row: 0, customer: 'C2' },
    ]);
    await stage('fstore-dev-push-payments-9-2026-03-01-12-00-00-aaaa', [
      { pushId: 'p1', row: 0, customer: 'C1' },
    ]);
    const odd = await stage('zz-unnamed', [{ pushId: 'p3', row: 0, customer: 'C3' }]);
    bucket.modified.set(odd, new Date('2026-03-01T12:03:00Z'));
    await run({ maxObjects: 1 });
    await run({ maxObjects: 1 });
    expect((await committedRows()).map((r) => r.customer_id)).toEqual(['C1', 'C3']);
  });
});
