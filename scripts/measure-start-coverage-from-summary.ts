/**
 * The figure of ADR 0022 ("The start step's ingest coverage from the summary"): a first run's
 * ingest coverage read (s3IngestLog, the sharded start step's) on a source of RECORDS (default
 * 50,000) S3 commit records, on the loopback S3 of the tests, once reading every record (as
 * before) and once through a records summary brought up to date before the start, with LATER
 * (default 60) records committed after it. Checks both give the same ingests.
 * `npx tsx scripts/measure-start-coverage-from-summary.ts`.
 */

import { isDeepStrictEqual } from 'node:util';
import { ingestRecordsSummaryKey } from '../lib/materialize/ingest-records-summary.ts';
import { refreshIngestRecordsSummary } from '../lib/materialize/refresh-ingest-records-summary.ts';
import { s3IngestLog } from '../lib/materialize/s3-ingest-log.ts';
import { readIngestRecordsSummary } from '../lib/materialize/s3-ingest-records.ts';
import { memoryBucketClient, startMemoryBucket } from '../test/helpers/s3-memory-bucket.ts';
import { putSyntheticIngestRecords } from '../test/helpers/synthetic-ingest-records.ts';

const count = Number(process.env.RECORDS ?? 50_000);
const later = Number(process.env.LATER ?? 60);
const bucket = await startMemoryBucket('fstore-offline');
putSyntheticIngestRecords(bucket.objects, 0, count, 60);
const client = memoryBucketClient(bucket);
const summaryKey = ingestRecordsSummaryKey('payments');
const counts = () => ({
  record_gets: bucket.requests.filter((r) => r.startsWith('GET offline/_ingests/')).length,
  summary_gets: bucket.requests.filter((r) => r === `GET ${summaryKey}`).length,
  list_pages: bucket.requests.filter((r) => r === 'LIST').length,
});
const seconds = (began: number) => +((performance.now() - began) / 1000).toFixed(1);

await refreshIngestRecordsSummary(client, bucket.name, 'payments', { pageRecords: count });
putSyntheticIngestRecords(bucket.objects, count, count + later, 60);

bucket.requests.length = 0;
let began = performance.now();
const read = await s3IngestLog(client, bucket.name).committedIngests('payments');
const everyRecord = { ...counts(), seconds: seconds(began) };

bucket.requests.length = 0;
began = performance.now();
const summarised = await s3IngestLog(client, bucket.name, {
  summary: async (source) => (await readIngestRecordsSummary(client, bucket.name, source)).entries,
}).committedIngests('payments');
const fromSummary = { ...counts(), seconds: seconds(began) };

console.log(
  JSON.stringify({
    records: count + later,
    committed_after_summary: later,
    every_record: everyRecord,
    from_summary: fromSummary,
    same_ingests: isDeepStrictEqual(read, summarised),
    summary_bytes: bucket.objects.get(summaryKey)?.length,
  }),
);
await bucket.close();
