import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { inParallel } from '../bounded-pool.ts';
import { HintedError } from '../hinted-error.ts';
import type { IngestRecord } from './ingest-manifest.ts';
import { ingestRecordsPrefix } from './ingest-records.ts';
import { isCompactionRecord } from './s3-compact-record.ts';
import { listS3Keys, truncatedListing } from './s3-list-keys.ts';
import { type CommittedSeq, committedSeqs } from './seq-pins.ts';

/** Named explicitly: bundles are minified, which renames classes. */
export class S3CommittedIngestsError extends HintedError {
  override name = 'S3CommittedIngestsError';
}

/** What the commit records of one source say: its ingests and its compactions' object lists. */
export interface S3CommittedSource {
  readonly source: string;
  readonly ingests: readonly IngestRecord[];
  readonly compactions: readonly {
    readonly files: readonly string[];
    readonly replaces: readonly string[];
  }[];
}

/** Records read at once: one small GetObject each. */
const recordReads = 16;

/**
 * The commit records of `sources` in an AWS environment (ADR 0008): every object below
 * `offline/_ingests/<source>/` (all pages), except path parts starting with `_` or `.` (the
 * compaction lock; Athena's records table hides them too), read and parsed. A record that is
 * neither an ingest's (`ingestId`, `firstSeq`, `rows`) nor a compaction's is refused naming it:
 * the records table, and so every Athena read of the source, fails on it as well. A record
 * deleted between the listing and its read is skipped (it commits nothing any more).
 */
export async function readS3CommittedSources(
  s3: S3Client,
  bucket: string,
  sources: readonly string[],
): Promise<Map<string, S3CommittedSource>> {
  const found = new Map<string, S3CommittedSource>();
  for (const source of sources) {
    const keys = (
      await listS3Keys(s3, bucket, `${ingestRecordsPrefix}${source}/`, s3Failure)
    ).filter(
      (key) =>
        !key
          .slice(ingestRecordsPrefix.length)
          .split('/')
          .some((part) => part.startsWith('_') || part.startsWith('.')),
    );
    const ingests: IngestRecord[] = [];
    const compactions: { files: string[]; replaces: string[] }[] = [];
    await inParallel(keys, recordReads, async (key) => {
      const record = await readRecord(s3, bucket, key);
      if (record === undefined) return;
      if (record.kind === 'compaction')
        compactions.push({ files: record.files, replaces: record.replaces });
      else ingests.push({ ...record, source });
    });
    ingests.sort((a, b) => a.firstSeq - b.firstSeq);
    found.set(source, { source, ingests, compactions });
  }
  return found;
}

/** Per source, what is committed now (the same rule as locally: max(firstSeq + rows - 1)). */
export function s3CommittedSeqs(
  committed: ReadonlyMap<string, S3CommittedSource>,
): Map<string, CommittedSeq> {
  return committedSeqs(
    [...committed.values()].flatMap((c) => c.ingests),
    [...committed.keys()],
  );
}

/**
 * The data objects a read of `committed` pinned at `pin` may take rows from, sorted: the objects
 * of ingests whose first row is within the pin, and every compaction's merged objects (their rows
 * carry the seqs of the ingests they merged, which may be on either side of the pin), less the
 * objects a compaction replaced (no reader reads them once its record exists). Records written
 * before the commit rule name no objects; their ingest ids stand for them.
 */
export function s3ObjectsRead(committed: S3CommittedSource, pin: bigint): string[] {
  const replaced = new Set(committed.compactions.flatMap((c) => c.replaces));
  const objects = new Set([
    ...committed.ingests.filter((i) => BigInt(i.firstSeq) <= pin).flatMap((i) => i.files ?? []),
    ...committed.compactions.flatMap((c) => c.files),
  ]);
  return [...objects].filter((key) => !replaced.has(key)).sort();
}

type ParsedRecord =
  | (Omit<IngestRecord, 'source'> & { readonly kind?: undefined })
  | { kind: 'compaction'; files: string[]; replaces: string[] };

async function readRecord(
  s3: S3Client,
  bucket: string,
  key: string,
): Promise<ParsedRecord | undefined> {
  const where = `s3://${bucket}/${key}`;
  let text: string;
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    text = (await response.Body?.transformToString()) ?? '';
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey') return undefined;
    throw s3Failure(error, `reading the commit record ${where}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (isCompactionRecord(parsed))
    return { kind: 'compaction', files: [...parsed.files], replaces: [...parsed.replaces] };
  const record = parsed as Partial<IngestRecord> | undefined;
  if (
    typeof record?.ingestId !== 'string' ||
    // Clock numbers (ms × 2^20) pass 2^53: whole, but not "safe"; exact as doubles all the same.
    !Number.isInteger(record.firstSeq) ||
    (record.firstSeq as number) < 0 ||
    (record.firstSeq as number) >= 2 ** 63 ||
    !Number.isSafeInteger(record.rows) ||
    (record.rows as number) < 0 ||
    (record.files !== undefined &&
      (!Array.isArray(record.files) || !record.files.every((f) => typeof f === 'string')))
  )
    throw new S3CommittedIngestsError(
      `the commit record ${where} is not an ingest's (ingestId, firstSeq, rows) nor a compaction's; Athena's reads of its source fail on it too`,
      'restore its previous version (the bucket is versioned), or move it out of offline/_ingests/ if it is not a record',
    );
  return record as ParsedRecord;
}

function s3Failure(error: unknown, doing: string): Error {
  if (error === undefined)
    return new S3CommittedIngestsError(
      `${doing} ${truncatedListing}; the committed ingests cannot be known`,
      'run again; if it persists, the endpoint does not speak ListObjectsV2 as S3 does',
    );
  const name = error instanceof Error ? error.name : 'Error';
  const message = error instanceof Error ? error.message : String(error);
  const throttled =
    name === 'SlowDown' || name === 'ThrottlingException' || name === 'TooManyRequests';
  return new S3CommittedIngestsError(
    `${doing} failed: ${name}: ${message}`,
    throttled
      ? 'S3 is throttling the bucket (after the SDK’s retries): run again in a minute; nothing was written'
      : 'the caller needs s3:ListBucket on the bucket and s3:GetObject on offline/_ingests/*; nothing was written',
    { cause: error },
  );
}
