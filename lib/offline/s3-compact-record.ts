import { ingestRecordsPrefix } from './ingest-records.ts';

/**
 * The commit point of one S3 compaction: one JSON object on one line, written with one PutObject
 * among the ingest records of its source. `ingestId` is the compaction id, which names the merged
 * objects (`<id>-<n>.parquet`), so the records table reads them; `replaces` names the objects
 * whose rows they hold, which no reader may read once this record exists (fstore's Athena relation
 * skips them, lib/sql/athena-dialect.ts).
 */
export interface S3CompactionRecord {
  readonly kind: 'compaction';
  readonly ingestId: string;
  readonly source: string;
  readonly at: string;
  /** Until when the replaced objects stay for queries that listed them before the commit. */
  readonly keepUntil: string;
  /** Keys of the merged objects. */
  readonly files: readonly string[];
  /** Keys of the objects they replace. */
  readonly replaces: readonly string[];
}

/**
 * Where a compaction's record is written: below the source's records (so the records table
 * reads it) but not in a `<sha256>/` folder, so duplicate detection never finds it.
 */
export function compactionRecordKey(source: string, compactionId: string): string {
  return `${compactionRecordsPrefix(source)}${compactionId}.json`;
}

/** The folder of a source's compaction records, below its ingest records. */
export function compactionRecordsPrefix(source: string): string {
  return `${ingestRecordsPrefix}${source}/compactions/`;
}

/**
 * The lock one `compact` of the source holds while it runs (lib/offline/s3-lock.ts). Among the
 * compaction records, so the same grants cover it, but named with `_`: the records table hides
 * it (Trino skips path parts starting with `_` or `.` below a table's location), as do the
 * compaction plan and the materializer's ingest log.
 */
export function compactionLockKey(source: string): string {
  return `${compactionRecordsPrefix(source)}_lock.json`;
}

/** Whether a parsed record is a compaction's, with the lists a reader needs. */
export function isCompactionRecord(value: unknown): value is S3CompactionRecord {
  const record = value as Partial<S3CompactionRecord> | undefined;
  return (
    record?.kind === 'compaction' &&
    typeof record.ingestId === 'string' &&
    Array.isArray(record.files) &&
    Array.isArray(record.replaces) &&
    record.replaces.every((key) => typeof key === 'string')
  );
}
