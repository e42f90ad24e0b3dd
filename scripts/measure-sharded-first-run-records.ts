/**
 * The figure of ADR 0022 ("Tile bases"): the commit record GETs of a first sharded tile-fed run
 * of a source of RECORDS (default 50,000) S3 commit records and no records summary, with
 * SHARDS (default 3) shards starting together, on the loopback S3 of the tests. Before: each
 * shard reads the records through the summary and writes it (as shards did). After: the run's
 * records step brings the summary up to date in invocations of BUDGET_S seconds (default 80:
 * the controller's 2 minutes less its 40 s margin), then each shard reads it without writing
 * (SKIP_BEFORE=1: the after case only).
 * `npx tsx scripts/measure-sharded-first-run-records.ts`.
 */

import { ingestRecordsSummaryKey } from '../lib/materialize/ingest-records-summary.ts';
import { refreshIngestRecordsSummary } from '../lib/materialize/refresh-ingest-records-summary.ts';
import { readS3IngestRecords } from '../lib/materialize/s3-ingest-records.ts';
import { memoryBucketClient, startMemoryBucket } from '../test/helpers/s3-memory-bucket.ts';
import { putSyntheticIngestRecords } from '../test/helpers/synthetic-ingest-records.ts';

const count = Number(process.env.RECORDS ?? 50_000);
const shards = Number(process.env.SHARDS ?? 3);
const budgetMs = Number(process.env.BUDGET_S ?? 80) * 1000;
const bucket = await startMemoryBucket('fstore-offline');
putSyntheticIngestRecords(bucket.objects, 0, count, 60);
const client = memoryBucketClient(bucket);
const summaryKey = ingestRecordsSummaryKey('payments');
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

// SKIP_BEFORE=1 measures the records step and the shards after it only (the before case reads
// SHARDS × RECORDS records, the longest part at 50,000).
bucket.requests.length = 0;
let began = performance.now();
if (process.env.SKIP_BEFORE !== '1') await fanOut(true);
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
