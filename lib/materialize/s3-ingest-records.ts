import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { inParallel } from '../bounded-pool.ts';
import type { IngestRecord } from '../offline/ingest-manifest.ts';
import { ingestRecordsPrefix } from '../offline/ingest-records.ts';
import { compactionRecordsPrefix, isCompactionRecord } from '../offline/s3-compact-record.ts';
import { listS3Objects } from '../offline/s3-list-keys.ts';
import { defaultRecordReads } from './s3-ingest-log.ts';

/**
 * Every commit record of a source on S3 (`offline/_ingests/<source>/`), whole (with the file
 * each ingest read): what a tile base needs (`tileBaseSequence`: the newest sequence and the
 * ranges of push ingests). Compaction records are left out: they commit no rows of their own.
 * One GetObject per record, `reads` at a time.
 */
export async function s3IngestRecords(
  client: S3Client,
  bucket: string,
  source: string,
  options: { readonly reads?: number } = {},
): Promise<IngestRecord[]> {
  const compactions = compactionRecordsPrefix(source);
  const keys = (
    await listS3Objects(
      client,
      bucket,
      `${ingestRecordsPrefix}${source}/`,
      (error, doing) =>
        new Error(`${doing} failed${error ? `: ${(error as Error).message}` : ''}`, {
          cause: error,
        }),
    )
  )
    .map((object) => object.key)
    .filter((key) => key.endsWith('.json') && !key.startsWith(compactions));
  const records: (IngestRecord | undefined)[] = keys.map(() => undefined);
  await inParallel(
    keys.map((_, i) => i),
    options.reads ?? defaultRecordReads,
    async (index) => {
      records[index] = await readRecord(client, bucket, keys[index] as string);
    },
  );
  return records.filter((record) => record !== undefined);
}

async function readRecord(
  client: S3Client,
  bucket: string,
  key: string,
): Promise<IngestRecord | undefined> {
  const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const text = (await response.Body?.transformToString()) ?? '';
  let record: IngestRecord;
  try {
    record = JSON.parse(text) as IngestRecord;
  } catch (error) {
    throw new Error(`the ingest record s3://${bucket}/${key} is not JSON`, { cause: error });
  }
  if (isCompactionRecord(record)) return undefined;
  if (
    typeof record.source !== 'string' ||
    typeof record.file !== 'string' ||
    // ms × 2^20 on S3: past 2^53, yet exact as a double (clock-seq.ts).
    !Number.isInteger(record.firstSeq) ||
    record.firstSeq < 0 ||
    !Number.isSafeInteger(record.rows)
  )
    throw new Error(
      `the ingest record s3://${bucket}/${key} lacks source, file, firstSeq or rows: ${text.slice(0, 200)}`,
    );
  return record;
}
