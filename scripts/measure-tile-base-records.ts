/**
 * The figures of ADR 0020 ("Where"): for a source of RECORDS (default 50,000) S3 commit records
 * (a tiled push batch a minute, a batch ingest every BATCH_EVERY records, default 60: hourly),
 * the GetObject calls and time of two reads of the records on the loopback S3 (the first
 * without a summary, the second after 60 more records), the summary's size, and the bytes of
 * the tile base query's `fstore_seq` condition in the former form (every record read, AND NOT
 * every tiled range) and as rendered now. `npx tsx scripts/measure-tile-base-records.ts`.
 */

import { ingestRecordsSummaryKey } from '../lib/materialize/ingest-records-summary.ts';
import { readS3IngestRecords } from '../lib/materialize/s3-ingest-records.ts';
import { tileBaseSequence } from '../lib/materialize/tile-base-writer.ts';
import type { IngestRecord } from '../lib/offline/ingest-manifest.ts';
import { ingestRecordKey } from '../lib/offline/ingest-records.ts';
import { subtractSeqRanges } from '../lib/seq-ranges.ts';
import { memoryBucketClient, startMemoryBucket } from '../test/helpers/s3-memory-bucket.ts';

const count = Number(process.env.RECORDS ?? 50_000);
const batchEvery = Number(process.env.BATCH_EVERY ?? 60);
const minute = 60_000 * 1_048_576;
const start = Date.parse('2026-01-01T00:00:00Z') * 1_048_576;

function record(i: number): IngestRecord {
  const id = `20260101t000000-${i.toString(16).padStart(8, '0')}`;
  return {
    ingestId: id,
    source: 'payments',
    file: `s3://fstore-offline/offline/_push-staging/payments/${id}.jsonl`,
    sha256: i.toString(16).padStart(64, 'a'),
    rows: 120,
    firstSeq: start + i * minute,
    at: new Date(Date.parse('2026-01-01T00:00:00Z') + i * 60_000).toISOString(),
    files: [`offline/payments/dt=2026-01-01/${id}-0.parquet`],
    ...(i % batchEvery === 0 ? {} : { pushTiledRows: [[0, 120]] as [number, number][] }),
  };
}

const bucket = await startMemoryBucket('fstore-offline');
const put = (i: number) => {
  const r = record(i);
  bucket.objects.set(
    ingestRecordKey('payments', r.sha256, r.ingestId),
    Buffer.from(`${JSON.stringify(r)}\n`),
  );
};
for (let i = 0; i < count; i++) put(i);
const client = memoryBucketClient(bucket);
const gets = () => bucket.requests.filter((r) => r.startsWith('GET ')).length;

async function timedRead() {
  bucket.requests.length = 0;
  const began = performance.now();
  const read = await readS3IngestRecords(client, bucket.name, 'payments');
  return { read, gets: gets(), seconds: (performance.now() - began) / 1000 };
}

const first = await timedRead();
for (let i = count; i < count + 60; i++) put(i);
const second = await timedRead();
const sequence = tileBaseSequence(second.read.records, 'payments');
if (!sequence) throw new Error('no records');
const between = ([a, b]: readonly [bigint, bigint]) => `fstore_seq BETWEEN ${a} AND ${b}`;
const formerBytes =
  `  AND (${sequence.readRanges.map(between).join(' OR ')})\n  AND NOT (${sequence.pushRanges.map(between).join(' OR ')})`
    .length;
const counted = subtractSeqRanges(sequence.readRanges, sequence.pushRanges);
const nowBytes = `  AND (${counted.map(between).join(' OR ')})`.length;
const recordBytes = [...bucket.objects.entries()]
  .filter(([key]) => key !== ingestRecordsSummaryKey('payments'))
  .reduce((n, [, b]) => n + b.length, 0);
console.log(
  JSON.stringify({
    records: count,
    batch_every: batchEvery,
    first_read: { gets: first.gets, seconds: +first.seconds.toFixed(1), ...omitRecords(first) },
    second_read: {
      gets: second.gets,
      seconds: +second.seconds.toFixed(1),
      ...omitRecords(second),
    },
    record_bytes: recordBytes,
    summary_bytes: bucket.objects.get(ingestRecordsSummaryKey('payments'))?.length,
    seq_condition_bytes_former: formerBytes,
    seq_condition_bytes_now: nowBytes,
    ranges_former: sequence.readRanges.length + sequence.pushRanges.length,
    ranges_now: counted.length,
  }),
);
await bucket.close();

function omitRecords(timed: Awaited<ReturnType<typeof timedRead>>) {
  const { records: _records, ...rest } = timed.read;
  return rest;
}
