import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { inParallel } from '../bounded-pool.ts';
import { DamagedCommitRecordError } from '../offline/damaged-commit-record.ts';
import type { IngestRecord } from '../offline/ingest-manifest.ts';
import { ingestRecordsPrefix } from '../offline/ingest-records.ts';
import { compactionRecordsPrefix, isCompactionRecord } from '../offline/s3-compact-record.ts';
import { type ListedObject, listS3Objects } from '../offline/s3-list-keys.ts';
import { conditionalFailureOf } from '../offline/s3-lock-errors.ts';
import { partitionsOfFiles } from './ingest-coverage.ts';
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
  options: {
    readonly reads?: number;
    /** False: a reader only (a shard; the run's records step keeps the summary). Default true. */
    readonly writeSummary?: boolean;
  } = {},
): Promise<IngestRecordsRead> {
  const listed = await listIngestRecordObjects(client, bucket, source);
  const previous = await readIngestRecordsSummary(client, bucket, source);
  const known = new Map((previous.entries ?? []).map((entry) => [entry.key, entry]));
  const entries: (SummaryEntry | undefined)[] = listed.map((object) => {
    const entry = known.get(object.key);
    return entry && entry.etag === object.etag && entry.bytes === object.bytes ? entry : undefined;
  });
  const toRead = listed.flatMap((_, index) => (entries[index] ? [] : [index]));
  await inParallel(toRead, options.reads ?? defaultRecordReads, async (index) => {
    entries[index] = await readIngestRecordEntry(client, bucket, listed[index] as ListedObject);
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
      : options.writeSummary === false
        ? 'not written (read-only)'
        : (await writeIngestRecordsSummary(client, bucket, source, current, previous.etag)).state,
  };
}

/** A source's commit record objects (`offline/_ingests/<source>/`), compactions' left out. */
export async function listIngestRecordObjects(
  client: S3Client,
  bucket: string,
  source: string,
): Promise<ListedObject[]> {
  const compactions = compactionRecordsPrefix(source);
  return (
    await listS3Objects(
      client,
      bucket,
      `${ingestRecordsPrefix}${source}/`,
      (error, doing) =>
        new Error(`${doing} failed${error ? `: ${(error as Error).message}` : ''}`, {
          cause: error,
        }),
    )
  ).filter((object) => object.key.endsWith('.json') && !object.key.startsWith(compactions));
}

/** One listed record as a summary keeps it (a GetObject). */
export async function readIngestRecordEntry(
  client: S3Client,
  bucket: string,
  object: ListedObject,
): Promise<SummaryEntry> {
  const record = await readRecord(client, bucket, object.key);
  const days = record ? partitionsOfFiles(record.files) : undefined;
  return { ...object, record: record && withoutFileLists(record), ...(days ? { days } : {}) };
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

/**
 * A source's records summary as stored: `used` with its entries, `absent`, or why it is refused
 * (then read as none). `etag` is the object's as read (also of a refused one), the condition a
 * write of the next summary puts on it.
 */
export async function readIngestRecordsSummary(
  client: S3Client,
  bucket: string,
  source: string,
): Promise<{ state: string; etag?: string; entries?: SummaryEntry[] }> {
  const key = ingestRecordsSummaryKey(source);
  let bytes: Uint8Array;
  let etag: string | undefined;
  try {
    const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    bytes = (await response.Body?.transformToByteArray()) ?? new Uint8Array();
    etag = response.ETag;
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey') return { state: 'absent' };
    return { state: `refused: reading s3://${bucket}/${key} failed: ${(error as Error).message}` };
  }
  const decoded = decodeIngestRecordsSummary(
    bytes,
    source,
    `${ingestRecordsPrefix}${source}/`,
    (record, where) =>
      record === null
        ? null
        : checkedRecord(record, `s3://${bucket}/${where} (as the summary holds it)`, record),
  );
  const read = etag ? { etag } : {};
  return 'refused' in decoded
    ? { state: `refused: s3://${bucket}/${key} is ${decoded.refused}`, ...read }
    : { state: 'used', entries: decoded, ...read };
}

/**
 * Writes a source's records summary only over the object read (`If-Match` its ETag; none read:
 * `If-None-Match: *`), so a writer never replaces a summary written since its read with one it
 * built before (e.g. a shorter one). `superseded`: another writer's summary stands (412/409);
 * `failed`: anything else (either way the records read still count).
 */
export async function writeIngestRecordsSummary(
  client: S3Client,
  bucket: string,
  source: string,
  entries: readonly SummaryEntry[],
  etag: string | undefined,
): Promise<{ state: string; etag?: string }> {
  try {
    const written = await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: ingestRecordsSummaryKey(source),
        Body: encodeIngestRecordsSummary(source, entries),
        ContentType: 'application/gzip',
        ...(etag ? { IfMatch: etag } : { IfNoneMatch: '*' }),
      }),
    );
    return { state: 'written', ...(written.ETag ? { etag: written.ETag } : {}) };
  } catch (error) {
    const failure = conditionalFailureOf(error);
    if (failure === 'precondition' || failure === 'conflict' || (failure === 'missing' && etag))
      return { state: `superseded: another writer's summary stands (${failure})` };
    return { state: `failed: ${(error as Error).name}: ${(error as Error).message}` };
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
    throw new DamagedCommitRecordError(`the ingest record s3://${bucket}/${key} is not JSON`, {
      cause: error,
    });
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
    throw new DamagedCommitRecordError(
      `the ingest record ${where} lacks source, file, firstSeq or rows: ${(typeof text === 'string' ? text : JSON.stringify(text)).slice(0, 200)}`,
    );
  return record;
}
