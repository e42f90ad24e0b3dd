import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { inParallel } from '../bounded-pool.ts';
import type { IngestRecord } from '../offline/ingest-manifest.ts';
import { ingestRecordsPrefix } from '../offline/ingest-records.ts';
import { compactionRecordsPrefix, isCompactionRecord } from '../offline/s3-compact-record.ts';
import { type ListedObject, listS3Objects } from '../offline/s3-list-keys.ts';
import {
  decodeIngestRecordsSummary,
  encodeIngestRecordsSummary,
  ingestRecordsSummaryKey,
  type SummaryEntry,
  withoutFileLists,
} from './ingest-records-summary.ts';
import { defaultRecordReads } from './s3-ingest-log.ts';

/** How one read of a source's commit records went: what the materializer logs. */
export interface IngestRecordsRead {
  readonly records: IngestRecord[];
  /** Record objects listed (compaction records under their own prefix left out). */
  readonly listed: number;
  /** Records read with a GetObject: those the summary did not hold as listed. */
  readonly fetched: number;
  /** `used`, `absent`, or why the summary was refused (then every record was read). */
  readonly summary: string;
  /** `written`, `unchanged`, or why writing the new summary failed (the records still count). */
  readonly summaryWrite: string;
}

/**
 * Every commit record of a source on S3 (`offline/_ingests/<source>/`), whole but for its file
 * lists and key sets (withoutFileLists): what a tile base needs (`tileBaseSequence`: the newest sequence and the ranges of push
 * ingests). Compaction records are left out: they commit no rows of their own.
 *
 * The listing says which records exist; a summary object of the records read before
 * (ingest-records-summary.ts) gives those it holds with the same ETag and size, and only the
 * others are read, one GetObject each, `reads` at a time. A summary that cannot be read or is
 * damaged counts as none; when the records differ from it, a new one is written.
 */
export async function readS3IngestRecords(
  client: S3Client,
  bucket: string,
  source: string,
  options: { readonly reads?: number } = {},
): Promise<IngestRecordsRead> {
  const prefix = `${ingestRecordsPrefix}${source}/`;
  const compactions = compactionRecordsPrefix(source);
  const listed = (
    await listS3Objects(
      client,
      bucket,
      prefix,
      (error, doing) =>
        new Error(`${doing} failed${error ? `: ${(error as Error).message}` : ''}`, {
          cause: error,
        }),
    )
  ).filter((object) => object.key.endsWith('.json') && !object.key.startsWith(compactions));
  const summaryKey = ingestRecordsSummaryKey(source);
  const previous = await readSummary(client, bucket, summaryKey, source, prefix);
  const known = new Map((previous.entries ?? []).map((entry) => [entry.key, entry]));
  const entries: (SummaryEntry | undefined)[] = listed.map((object) => {
    const entry = known.get(object.key);
    return entry && entry.etag === object.etag && entry.bytes === object.bytes ? entry : undefined;
  });
  const toRead = listed.flatMap((_, index) => (entries[index] ? [] : [index]));
  await inParallel(toRead, options.reads ?? defaultRecordReads, async (index) => {
    const object = listed[index] as ListedObject;
    const record = await readRecord(client, bucket, object.key);
    entries[index] = { ...object, record: record && withoutFileLists(record) };
  });
  const current = entries.filter((entry) => entry !== undefined);
  const unchanged =
    previous.entries !== undefined &&
    toRead.length === 0 &&
    previous.entries.length === current.length;
  return {
    records: current.flatMap((entry) => (entry.record ? [entry.record] : [])),
    listed: listed.length,
    fetched: toRead.length,
    summary: previous.state,
    summaryWrite: unchanged
      ? 'unchanged'
      : await writeSummary(client, bucket, summaryKey, source, current),
  };
}

/** The records of `readS3IngestRecords`. */
export async function s3IngestRecords(
  client: S3Client,
  bucket: string,
  source: string,
  options: { readonly reads?: number } = {},
): Promise<IngestRecord[]> {
  return (await readS3IngestRecords(client, bucket, source, options)).records;
}

async function readSummary(
  client: S3Client,
  bucket: string,
  key: string,
  source: string,
  prefix: string,
): Promise<{ state: string; entries?: SummaryEntry[] }> {
  let bytes: Uint8Array;
  try {
    const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    bytes = (await response.Body?.transformToByteArray()) ?? new Uint8Array();
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey') return { state: 'absent' };
    return { state: `refused: reading s3://${bucket}/${key} failed: ${(error as Error).message}` };
  }
  const decoded = decodeIngestRecordsSummary(bytes, source, prefix, (record, where) =>
    record === null
      ? null
      : checkedRecord(record, `s3://${bucket}/${where} (as the summary holds it)`, record),
  );
  return 'refused' in decoded
    ? { state: `refused: s3://${bucket}/${key} is ${decoded.refused}` }
    : { state: 'used', entries: decoded };
}

async function writeSummary(
  client: S3Client,
  bucket: string,
  key: string,
  source: string,
  entries: readonly SummaryEntry[],
): Promise<string> {
  try {
    await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: encodeIngestRecordsSummary(source, entries),
        ContentType: 'application/gzip',
      }),
    );
    return 'written';
  } catch (error) {
    return `failed: ${(error as Error).name}: ${(error as Error).message}`;
  }
}

async function readRecord(
  client: S3Client,
  bucket: string,
  key: string,
): Promise<IngestRecord | null> {
  const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const text = (await response.Body?.transformToString()) ?? '';
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch (error) {
    throw new Error(`the ingest record s3://${bucket}/${key} is not JSON`, { cause: error });
  }
  return checkedRecord(record, `s3://${bucket}/${key}`, text);
}

/** An ingest's record, null for a compaction's; refused when it lacks what a tile base reads. */
function checkedRecord(value: unknown, where: string, text: unknown): IngestRecord | null {
  if (isCompactionRecord(value)) return null;
  const record = value as IngestRecord;
  if (
    typeof record !== 'object' ||
    record === null ||
    typeof record.source !== 'string' ||
    typeof record.file !== 'string' ||
    // ms × 2^20 on S3: past 2^53, yet exact as a double (clock-seq.ts).
    !Number.isInteger(record.firstSeq) ||
    record.firstSeq < 0 ||
    !Number.isSafeInteger(record.rows)
  )
    throw new Error(
      `the ingest record ${where} lacks source, file, firstSeq or rows: ${(typeof text === 'string' ? text : JSON.stringify(text)).slice(0, 200)}`,
    );
  return record;
}
