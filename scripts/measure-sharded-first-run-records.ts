/**
 * The figure of ADR 0022 ("Tile bases"): the commit record GETs of a first sharded tile-fed run
 * of a source of RECORDS (default 50,000) S3 commit records and no records summary, with
 * SHARDS (default 3) shards starting together, on the loopback S3 of the tests. Before: each
 * shard reads the records through the summary and writes it (as shards did). After: the run's
 * records step brings the summary up to date in invocations of BUDGET_S seconds (default 80:
 * the controller's 2 minutes less its 40 s margin), then each shard reads it without writing.
 * `npx tsx scripts/measure-sharded-first-run-records.ts`.
 */

import { ingestRecordsSummaryKey } from '../lib/materialize/ingest-records-summary.ts';
import { refreshIngestRecordsSummary } from '../lib/materialize/refresh-ingest-records-summary.ts';
import { readS3IngestRecords } from '../lib/materialize/s3-ingest-records.ts';
import type { IngestRecord } from '../lib/offline/ingest-manifest.ts';
import { ingestRecordKey } from '../lib/offline/ingest-records.ts';
import { memoryBucketClient, startMemoryBucket } from '../test/helpers/s3-memory-bucket.ts';

const count = Number(process.env.RECORDS ?? 50_000);
const shards = Number(process.env.SHARDS ?? 3);
const budgetMs = Number(process.env.BUDGET_S ?? 80) * 1000;
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
    ...(i % 60 === 0 ? {} : { pushTiledRows: [[0, 120]] as [number, number][] }),
  };
}

const bucket = await startMemoryBucket('fstore-offline');
const client = memoryBucketClient(bucket);
const summaryKey = ingestRecordsSummaryKey('payments');
for (let i = 0; i < count; i++) {
  const r = record(i);
  bucket.objects.set(
    ingestRecordKey('payments', r.sha256, r.ingestId),
    Buffer.from(`${JSON.stringify(r)}\n`),
  );
}
const counts = () => ({
  record_gets: bucket.requests.filter((r) => r.startsWith('GET offline/_ingests/')).length,
  summary_gets: bucket.requests.filter((r) => r === `GET ${summaryKey}`).length,
  summary_puts: bucket.requests.filter((r) => r === `PUT ${summaryKey}`).length,
});
const seconds = (began: number) => +((performance.now() - began) / 1000).toFixed(1);
const fanOut = (writeSummary: boolean) =>
  Promise.all(
    Array.from({ length: shards }, () =>
      readS3IngestRecords(client, bucket.name, 'payments', { writeSummary }),
    ),
  );

bucket.requests.length = 0;
let began = performance.now();
await fanOut(true);
const before = { ...counts(), seconds: seconds(began) };

bucket.objects.delete(summaryKey);
bucket.requests.length = 0;
began = performance.now();
const steps: { fetched: number; seconds: number }[] = [];
for (;;) {
  const stepBegan = performance.now();
  const step = await refreshIngestRecordsSummary(client, bucket.name, 'payments', {
    shouldStop: () => performance.now() - stepBegan > budgetMs,
  });
  steps.push({ fetched: step.fetched, seconds: seconds(stepBegan) });
  if (step.done) break;
}
const summaryStep = { ...counts(), seconds: seconds(began), steps };
bucket.requests.length = 0;
began = performance.now();
await fanOut(false);
const shardsAfter = { ...counts(), seconds: seconds(began) };

console.log(
  JSON.stringify({
    records: count,
    shards,
    before: { shards: before },
    after: { records_step: summaryStep, shards: shardsAfter },
    summary_bytes: bucket.objects.get(summaryKey)?.length,
  }),
);
await bucket.close();
