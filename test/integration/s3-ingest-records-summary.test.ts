import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  encodeIngestRecordsSummary,
  ingestRecordsSummaryKey,
} from '../../lib/materialize/ingest-records-summary.ts';
import { readS3IngestRecords } from '../../lib/materialize/s3-ingest-records.ts';
import { tileBaseSequence } from '../../lib/materialize/tile-base-writer.ts';
import { DamagedCommitRecordError } from '../../lib/offline/damaged-commit-record.ts';
import type { IngestRecord } from '../../lib/offline/ingest-manifest.ts';
import { ingestRecordKey } from '../../lib/offline/ingest-records.ts';
import { compactionRecordKey } from '../../lib/offline/s3-compact-record.ts';
import { tiledRowsRecordFields } from '../../lib/push/tiled-push-rows.ts';
import {
  type MemoryBucket,
  memoryBucketClient,
  startMemoryBucket,
} from '../helpers/s3-memory-bucket.ts';

const minute = 60_000 * 1_048_576;
const start = Date.parse('2026-01-01T00:00:00Z') * 1_048_576;

const spendPrefix = 'spend#0123456789ab';

/**
 * The commit record of the `i`-th ingest of payments: a tiled push, every fifth a batch, every
 * fifth plus one a push tiled for `spend`'s version only (as 751a00c wrote it), every fifth
 * plus two one tiled for `spend`'s version only in the form older releases refuse.
 */
function record(i: number, rows = 3): IngestRecord {
  return {
    ingestId: `20260101t000000-${i.toString(16).padStart(8, '0')}`,
    source: 'payments',
    file: `s3://fstore-offline/push/payments/${i}.jsonl`,
    sha256: i.toString(16).padStart(64, '0'),
    rows,
    firstSeq: start + i * minute,
    at: '2026-01-01T00:00:00Z',
    files: [`offline/payments/dt=2026-01-01/20260101t000000-${i}-0.parquet`],
    ...(i % 5 === 0
      ? {}
      : i % 5 === 1
        ? { pushTiledRows: [], pushTiledRowsByView: { [spendPrefix]: [[0, rows]] } }
        : i % 5 === 2
          ? tiledRowsRecordFields([], { [spendPrefix]: [[0, rows]] })
          : { pushTiledRows: [[0, rows]] as [number, number][] }),
  };
}

function keyOf(i: number): string {
  return ingestRecordKey('payments', i.toString(16).padStart(64, '0'), record(i).ingestId);
}

/** What the reads give back: the records less their data file lists. */
function asRead(records: readonly IngestRecord[]): IngestRecord[] {
  return records.map(({ files: _files, ...kept }) => kept);
}

describe('reading the commit records of a tile base through a summary', () => {
  let bucket: MemoryBucket;
  const summaryKey = ingestRecordsSummaryKey('payments');
  const read = () => readS3IngestRecords(memoryBucketClient(bucket), bucket.name, 'payments');
  const sorted = (records: readonly IngestRecord[]) =>
    [...records].sort((a, b) => a.firstSeq - b.firstSeq);
  const gets = () => bucket.requests.filter((r) => r.startsWith('GET ')).length;
  const puts = () => bucket.requests.filter((r) => r.startsWith('PUT ')).length;
  const put = (i: number, value: IngestRecord = record(i)) =>
    bucket.objects.set(keyOf(i), Buffer.from(`${JSON.stringify(value)}\n`));

  beforeAll(async () => {
    bucket = await startMemoryBucket('fstore-offline', { pageSize: 50 });
  });
  afterAll(() => bucket.close());
  beforeEach(() => {
    bucket.objects.clear();
    bucket.requests.length = 0;
    for (let i = 0; i < 120; i++) put(i);
    // A compaction's record: listed under its own prefix, never read.
    bucket.objects.set(
      compactionRecordKey('payments', 'c1'),
      Buffer.from(JSON.stringify({ kind: 'compaction', files: [], replaces: [] })),
    );
  });

  it('reads every record once, then only the records committed since: 120 GETs, then 3', async () => {
    const first = await read();
    expect(first).toMatchObject({ listed: 120, fetched: 120, summary: 'absent' });
    expect(first.summaryWrite).toBe('written');
    expect(gets()).toBe(121);
    expect(sorted(first.records)).toEqual(asRead(Array.from({ length: 120 }, (_, i) => record(i))));

    for (const i of [120, 121, 122]) put(i);
    bucket.requests.length = 0;
    const second = await read();
    expect(second).toMatchObject({ listed: 123, fetched: 3, summary: 'used' });
    expect(gets()).toBe(1 + 3);
    const all = asRead(Array.from({ length: 123 }, (_, i) => record(i)));
    expect(sorted(second.records)).toEqual(all);
    for (const prefix of [spendPrefix, 'spend_twin#ba9876543210'])
      expect(tileBaseSequence(second.records, 'payments', prefix)).toEqual(
        tileBaseSequence(all, 'payments', prefix),
      );
    expect(tileBaseSequence(second.records, 'payments', spendPrefix)?.pushRanges).not.toEqual(
      tileBaseSequence(second.records, 'payments', 'spend_twin#ba9876543210')?.pushRanges,
    );

    bucket.requests.length = 0;
    const third = await read();
    expect(third).toMatchObject({ fetched: 0, summary: 'used', summaryWrite: 'unchanged' });
    expect(gets()).toBe(1);
    expect(puts()).toBe(0);
    // The summary is far smaller than the records it stands for.
    const summaryBytes = bucket.objects.get(summaryKey)?.length ?? 0;
    const recordBytes = [...bucket.objects.values()].reduce((n, b) => n + b.length, 0);
    expect(summaryBytes).toBeLessThan((recordBytes - summaryBytes) / 3);
  });

  it('reads a record again when its object changed, and drops a record no longer listed', async () => {
    await read();
    put(7, { ...record(7), rows: 5, pushTiledRows: [[0, 2]] });
    bucket.objects.delete(keyOf(8));
    bucket.requests.length = 0;
    const next = await read();
    expect(next).toMatchObject({ listed: 119, fetched: 1, summaryWrite: 'written' });
    expect(next.records.find((r) => r.ingestId === record(7).ingestId)).toMatchObject({
      rows: 5,
      pushTiledRows: [[0, 2]],
    });
    expect(next.records.some((r) => r.ingestId === record(8).ingestId)).toBe(false);
    // The summary written then holds the change: the next read GETs only the summary.
    bucket.requests.length = 0;
    expect(await read()).toMatchObject({ fetched: 0, listed: 119 });
    expect(gets()).toBe(1);
  });

  const damages: [string, (bytes: Buffer) => Buffer, RegExp][] = [
    ['cut short', (bytes) => bytes.subarray(0, bytes.length - 40), /not gzipped JSON/],
    ['not gzip', () => Buffer.from('{}'), /not gzipped JSON/],
    [
      'an entry edited without its checksum',
      (bytes) => gzipSync(gunzipSync(bytes).toString('utf8').replace('"rows":3', '"rows":2')),
      /do not match their checksum/,
    ],
    [
      "another source's",
      (bytes) =>
        gzipSync(
          gunzipSync(bytes).toString('utf8').replace('"source":"payments"', '"source":"refunds"'),
        ),
      /of source refunds/,
    ],
    [
      'of the format before it kept each record’s partitions (/1: rebuilt once)',
      (bytes) =>
        gzipSync(
          gunzipSync(bytes)
            .toString('utf8')
            .replace('fstore-ingest-records-summary/2', 'fstore-ingest-records-summary/1'),
        ),
      /format fstore-ingest-records-summary\/1/,
    ],
  ];
  // Checksummed as a run writes them, yet not a summary of these records' keys.
  const forged = (entries: Parameters<typeof encodeIngestRecordsSummary>[1]) => () =>
    encodeIngestRecordsSummary('payments', entries);
  const listedEntry = { key: keyOf(1), etag: 'e', bytes: 1, record: record(1) };
  damages.push(
    [
      'naming a key outside the source’s records',
      forged([{ ...listedEntry, key: 'offline/_ingests/refunds/x.json' }]),
      /not a distinct record key of payments/,
    ],
    [
      'naming a key twice',
      forged([listedEntry, listedEntry]),
      /not a distinct record key of payments/,
    ],
    [
      'holding partitions that are not days',
      forged([{ ...listedEntry, days: ['2026-1-1'] }]),
      /the partitions of .* are not a list of YYYY-MM-DD days/,
    ],
    [
      'holding an entry that is not a record',
      forged([{ ...listedEntry, record: { source: 'payments' } as IngestRecord }]),
      /as the summary holds it\) lacks source, file, firstSeq or rows/,
    ],
  );
  for (const [damage, change, reason] of damages)
    it(`refuses a summary ${damage}, reads every record and writes a sound summary again`, async () => {
      await read();
      const bytes = bucket.objects.get(summaryKey) as Buffer;
      bucket.objects.set(summaryKey, change(bytes));
      bucket.requests.length = 0;
      const next = await read();
      expect(next.summary).toMatch(reason);
      expect(next).toMatchObject({ fetched: 120, summaryWrite: 'written' });
      expect(sorted(next.records)).toEqual(
        asRead(Array.from({ length: 120 }, (_, i) => record(i))),
      );
      bucket.requests.length = 0;
      expect(await read()).toMatchObject({ summary: 'used', fetched: 0 });
    });

  it('still fails on a record that is not an ingest’s, naming it, and writes no summary', async () => {
    bucket.objects.set(keyOf(3), Buffer.from('{"source":"payments"}'));
    await expect(read()).rejects.toThrow(
      new RegExp(
        `the ingest record s3://fstore-offline/${keyOf(3)} lacks source, file, firstSeq or rows`,
      ),
    );
    await expect(read()).rejects.toBeInstanceOf(DamagedCommitRecordError);
    expect(bucket.objects.has(summaryKey)).toBe(false);
  });
});
