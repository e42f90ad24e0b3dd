import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  decodeIngestRecordsSummary,
  encodeIngestRecordsSummary,
  ingestRecordsSummaryKey,
} from '../../lib/materialize/ingest-records-summary.ts';
import { refreshIngestRecordsSummary } from '../../lib/materialize/refresh-ingest-records-summary.ts';
import {
  listIngestRecordObjects,
  readIngestRecordEntry,
  readS3IngestRecords,
} from '../../lib/materialize/s3-ingest-records.ts';
import type { IngestRecord } from '../../lib/offline/ingest-manifest.ts';
import { ingestRecordKey } from '../../lib/offline/ingest-records.ts';
import {
  type MemoryBucket,
  memoryBucketClient,
  startMemoryBucket,
} from '../helpers/s3-memory-bucket.ts';

const minute = 60_000 * 1_048_576;
const start = Date.parse('2026-01-01T00:00:00Z') * 1_048_576;
const count = 120;

function record(i: number): IngestRecord {
  return {
    ingestId: `20260101t000000-${i.toString(16).padStart(8, '0')}`,
    source: 'payments',
    file: `s3://fstore-offline/push/payments/${i}.jsonl`,
    sha256: i.toString(16).padStart(64, '0'),
    rows: 3,
    firstSeq: start + i * minute,
    at: '2026-01-01T00:00:00Z',
    files: [`offline/payments/dt=2026-01-01/${i}-0.parquet`],
    ...(i % 5 === 0 ? {} : { pushTiledRows: [[0, 3]] as [number, number][] }),
  };
}

const keyOf = (i: number) => ingestRecordKey('payments', record(i).sha256, record(i).ingestId);

describe('bringing a source’s records summary up to date before a sharded run fans out', () => {
  let bucket: MemoryBucket;
  const summaryKey = ingestRecordsSummaryKey('payments');
  const client = () => memoryBucketClient(bucket);
  const refresh = (options: Parameters<typeof refreshIngestRecordsSummary>[3] = {}) =>
    refreshIngestRecordsSummary(client(), bucket.name, 'payments', options);
  /** GETs of each record, in key order. */
  const recordGets = () => {
    const gets = new Map<string, number>();
    for (const request of bucket.requests)
      if (request.startsWith('GET offline/_ingests/'))
        gets.set(request.slice(4), (gets.get(request.slice(4)) ?? 0) + 1);
    return Array.from({ length: count }, (_, i) => keyOf(i))
      .sort()
      .map((key) => gets.get(key) ?? 0);
  };
  const summaryKeys = () => {
    const entries = decodeIngestRecordsSummary(
      bucket.objects.get(summaryKey) as Buffer,
      'payments',
      'offline/_ingests/payments/',
      (value) => value as IngestRecord,
    );
    if ('refused' in entries) throw new Error(entries.refused);
    return entries.map((entry) => entry.key).sort();
  };
  const puts = () => bucket.requests.filter((r) => r === `PUT ${summaryKey}`).length;

  beforeAll(async () => {
    bucket = await startMemoryBucket('fstore-offline', { pageSize: 50 });
  });
  afterAll(() => bucket.close());
  beforeEach(() => {
    bucket.objects.clear();
    bucket.requests.length = 0;
    bucket.beforeRequest = undefined;
    for (let i = 0; i < count; i++)
      bucket.objects.set(keyOf(i), Buffer.from(`${JSON.stringify(record(i))}\n`));
  });

  it('reads the records a page at a time across calls that stop after each page, each record once', async () => {
    const calls = [];
    for (;;) {
      const call = await refresh({ pageRecords: 50, shouldStop: () => true });
      calls.push(call);
      if (call.done) break;
    }
    expect(
      calls.map(({ fetched, pending, done, writes }) => ({ fetched, pending, done, writes })),
    ).toEqual([
      { fetched: 50, pending: 70, done: false, writes: 1 },
      { fetched: 50, pending: 20, done: false, writes: 1 },
      { fetched: 20, pending: 0, done: true, writes: 1 },
    ]);
    expect(calls.map((call) => call.summary)).toEqual(['absent', 'used', 'used']);
    expect(recordGets()).toEqual(Array(count).fill(1));
    expect(summaryKeys()).toHaveLength(count);

    // Up to date: a call reads the summary only and writes nothing.
    bucket.requests.length = 0;
    expect(await refresh()).toMatchObject({ done: true, fetched: 0, summaryWrite: 'unchanged' });
    expect(recordGets()).toEqual(Array(count).fill(0));
    expect(puts()).toBe(0);
  });

  it('resumes after a call killed in its second page from the summary its first page wrote, reading the first page’s records no more', async () => {
    const sorted = Array.from({ length: count }, (_, i) => keyOf(i)).sort();
    const killedAt = sorted[60] as string;
    bucket.beforeRequest = (method, key) =>
      method === 'GET' && key === killedAt ? { status: 403, code: 'AccessDenied' } : undefined;
    await expect(refresh({ pageRecords: 50 })).rejects.toThrow(/injected by the test/);
    expect(summaryKeys()).toEqual(sorted.slice(0, 50));
    const firstPage = recordGets().slice(0, 50);
    expect(firstPage).toEqual(Array(50).fill(1));

    bucket.beforeRequest = undefined;
    const resumed = await refresh({ pageRecords: 50 });
    expect(resumed).toMatchObject({ done: true, fetched: 70, pending: 0, summary: 'used' });
    const gets = recordGets();
    // The first page was read once; the killed page's records at most twice.
    expect(gets.slice(0, 50)).toEqual(Array(50).fill(1));
    expect(gets.slice(50).every((n) => n === 1 || n === 2)).toBe(true);
    expect(summaryKeys()).toEqual(sorted);
  });

  it('joins a summary another run wrote between its read and its write, never replacing it with its own', async () => {
    // Another run's summary lands just before this call's first write: 10 records, one of them
    // changed since (its entry's ETag no longer listed), and a record this call never listed.
    const objects = await listIngestRecordObjects(client(), bucket.name, 'payments');
    const theirs = await Promise.all(
      objects.slice(0, 10).map((o) => readIngestRecordEntry(client(), bucket.name, o)),
    );
    const changed = { ...(theirs[3] as (typeof theirs)[number]), etag: 'not-the-listed-one' };
    const unlisted = { ...(theirs[4] as (typeof theirs)[number]), key: `${keyOf(999)}` };
    let landed = false;
    bucket.beforeRequest = (method, key) => {
      if (method === 'PUT' && key === summaryKey && !landed) {
        landed = true;
        bucket.objects.set(
          summaryKey,
          encodeIngestRecordsSummary('payments', [...theirs.slice(0, 3), changed, unlisted]),
        );
      }
      return undefined;
    };
    bucket.requests.length = 0;
    const call = await refresh({ pageRecords: 500 });
    expect(call).toMatchObject({ done: true, fetched: count, writes: 1, summaryWrite: 'written' });
    // The first write was refused (412: the summary changed), the second made on theirs.
    expect(puts()).toBe(2);
    expect(summaryKeys()).toEqual(objects.map((o) => o.key).sort());
  });

  it('leaves the summary to the shards when it cannot be written, reporting it, without looping', async () => {
    bucket.beforeRequest = (method, key) =>
      method === 'PUT' && key === summaryKey ? { status: 403, code: 'AccessDenied' } : undefined;
    const call = await refresh({ pageRecords: 50 });
    expect(call).toMatchObject({ done: true, fetched: 50, pending: 70, writes: 0 });
    expect(call.summaryWrite).toMatch(/^failed: AccessDenied/);
    expect(bucket.objects.has(summaryKey)).toBe(false);
  });

  it('does not let a reader that read an older summary replace a newer one (a conditional write), and a read-only reader writes none', async () => {
    await refresh({ pageRecords: 40, shouldStop: () => true });
    // A single materializer read the 40-record summary; before its write, the summary grows.
    let grown = false;
    bucket.beforeRequest = async (method, key) => {
      if (method === 'PUT' && key === summaryKey && !grown) {
        grown = true;
        bucket.beforeRequest = undefined;
        await refresh();
      }
      return undefined;
    };
    const stale = await readS3IngestRecords(client(), bucket.name, 'payments');
    expect(stale.records).toHaveLength(count);
    expect(stale.summaryWrite).toMatch(/^superseded/);
    expect(summaryKeys()).toHaveLength(count);

    bucket.objects.delete(summaryKey);
    bucket.requests.length = 0;
    const shard = await readS3IngestRecords(client(), bucket.name, 'payments', {
      writeSummary: false,
    });
    expect(shard).toMatchObject({ fetched: count, summaryWrite: 'not written (read-only)' });
    expect(puts()).toBe(0);
  });
});
