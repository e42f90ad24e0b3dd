import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { inParallel } from '../bounded-pool.ts';
import type { IngestRecord } from '../offline/ingest-manifest.ts';
import { ingestRecordsPrefix } from '../offline/ingest-records.ts';
import { compactionRecordsPrefix, isCompactionRecord } from '../offline/s3-compact-record.ts';
import {
  type CommittedIngest,
  type IngestLog,
  isCovered,
  partitionsOfFiles,
} from './ingest-coverage.ts';
import type { SummaryEntry } from './ingest-records-summary.ts';

/** Ingest records read at once: a first run reads every record, one small GetObject each. */
export const defaultRecordReads = 32;

/**
 * An AWS environment's commit points: the ingest records under `offline/_ingests/<source>/`
 * (ADR 0008). One listing finds them all, with S3's own time of each (one clock for every
 * writer); only records the coverage does not already settle are read, so a run reads the few
 * ingests of the last minutes, not the whole history. A first run reads them all, `reads` at a
 * time (20,000 records one after the other would outlast a Lambda invocation), or, given a
 * `summary`, takes them from the source's records summary (ingest-records-summary.ts) and reads
 * only the records it lacks.
 */
export function s3IngestLog(
  client: S3Client,
  bucket: string,
  options: {
    readonly reads?: number;
    /**
     * The source's records summary, undefined when there is none to use. Asked only when more
     * than `reads` records need reading (one round of GETs costs less than the summary); its
     * entries stand for the records listed with the same key, ETag and size.
     */
    readonly summary?: (source: string) => Promise<readonly SummaryEntry[] | undefined>;
  } = {},
): IngestLog {
  const reads = options.reads ?? defaultRecordReads;
  return {
    async committedIngests(source, known) {
      // A compaction's record commits rows already committed (same fstore_seq, in merged
      // objects): no new rows to materialize, and it has no sequence range of its own.
      const compactions = compactionRecordsPrefix(source);
      const listed: ListedRecord[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: `${ingestRecordsPrefix}${source}/`,
            ...(token ? { ContinuationToken: token } : {}),
          }),
        );
        for (const object of page.Contents ?? [])
          if (
            object.Key?.endsWith('.json') &&
            object.LastModified &&
            !object.Key.startsWith(compactions)
          )
            listed.push({
              key: object.Key,
              committedAtMs: object.LastModified.getTime(),
              etag: (object.ETag ?? '').replaceAll('"', ''),
              bytes: object.Size ?? 0,
            });
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      const ingests: (CommittedIngest | undefined)[] = [];
      const toRead: number[] = [];
      for (const { key, committedAtMs } of listed) {
        // A covered record needs no read (its rows are not read again): settled ones by their
        // time alone, named ones by the id in their key (`<sha256>/<ingestId>.json`).
        const idInKey = /\/[0-9a-f]{64}\/([^/]+)\.json$/.exec(key)?.[1];
        const stub = { ingestId: idInKey ?? key, firstSeq: 0, rows: 0, committedAtMs };
        if (!(known && isCovered(known, stub))) toRead.push(ingests.length);
        ingests.push(stub);
      }
      const summarised =
        options.summary && toRead.length > reads
          ? new Map((await options.summary(source))?.map((entry) => [entry.key, entry]))
          : undefined;
      const unsummarised = toRead.filter((index) => {
        const object = listed[index] as ListedRecord;
        const entry = summarised?.get(object.key);
        if (!entry || entry.etag !== object.etag || entry.bytes !== object.bytes) return true;
        const ingest = ingestOfEntry(entry, object.committedAtMs);
        if (ingest === 'unreadable') return true; // read, to fail as a read record fails
        ingests[index] = ingest;
        return false;
      });
      await inParallel(unsummarised, reads, async (index) => {
        const { key, committedAtMs } = listed[index] as ListedRecord;
        ingests[index] = await readRecord(client, bucket, key, committedAtMs);
      });
      return ingests.filter((ingest) => ingest !== undefined);
    },
  };
}

interface ListedRecord {
  readonly key: string;
  readonly committedAtMs: number;
  readonly etag: string;
  readonly bytes: number;
}

/** A summary's record as `readRecord` gives it from the record's object. */
function ingestOfEntry(
  entry: SummaryEntry,
  committedAtMs: number,
): CommittedIngest | undefined | 'unreadable' {
  const { record, days } = entry;
  if (record === null) return undefined; // a compaction's
  // The summary checks what a tile base reads; the coverage also needs the ingest's id.
  if (typeof record.ingestId !== 'string') return 'unreadable';
  return {
    ingestId: record.ingestId,
    firstSeq: record.firstSeq,
    rows: record.rows,
    committedAtMs,
    ...(days ? { days } : {}),
  };
}

async function readRecord(
  client: S3Client,
  bucket: string,
  key: string,
  committedAtMs: number,
): Promise<CommittedIngest | undefined> {
  let text: string;
  try {
    const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    text = (await response.Body?.transformToString()) ?? '';
  } catch (error) {
    throw new Error(
      `reading the ingest record s3://${bucket}/${key} failed: ${(error as Error).message}`,
      { cause: error },
    );
  }
  let record: IngestRecord;
  try {
    record = JSON.parse(text) as IngestRecord;
  } catch (error) {
    throw new Error(`the ingest record s3://${bucket}/${key} is not JSON`, { cause: error });
  }
  if (isCompactionRecord(record)) return undefined; // one placed outside compactions/
  if (
    typeof record.ingestId !== 'string' ||
    !Number.isInteger(record.firstSeq) ||
    record.firstSeq < 0 ||
    !Number.isSafeInteger(record.rows)
  )
    throw new Error(
      `the ingest record s3://${bucket}/${key} lacks ingestId, firstSeq or rows: ${text.slice(0, 200)}`,
    );
  const days = partitionsOfFiles(record.files);
  return {
    ingestId: record.ingestId,
    firstSeq: record.firstSeq,
    rows: record.rows,
    committedAtMs,
    ...(days ? { days } : {}),
  };
}
