import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { IngestRecord } from '../offline/ingest-manifest.ts';

/**
 * Where the summary of a source's commit records is kept (ADR 0020, "Where"): outside
 * `offline/`, so no reader of records or data objects (Athena's records table, retention,
 * compaction) ever meets it.
 */
export const ingestRecordsSummaryPrefix = 'tile-base-records/';

export function ingestRecordsSummaryKey(source: string): string {
  return `${ingestRecordsSummaryPrefix}${source}.json.gz`;
}

/** Raised whenever what an entry keeps changes: summaries of another format are rebuilt. */
const format = 'fstore-ingest-records-summary/2';

/**
 * One commit record as a run read it: its object's key, ETag and size in the listing it was
 * read from, and the record (null: a compaction's, which commits no rows). Trusted again only
 * while a listing shows the same key with the same ETag and size.
 */
export interface SummaryEntry {
  readonly key: string;
  readonly etag: string;
  readonly bytes: number;
  readonly record: IngestRecord | null;
  /**
   * The `YYYY-MM-DD` partitions of the record's data files (ingest-coverage.ts
   * partitionsOfFiles), kept since its file list is not: what a run's ingest coverage prunes
   * its scan by. Absent when the record names no files or one outside a partition.
   */
  readonly days?: readonly string[];
}

/**
 * The summary's bytes: gzip of one JSON object holding the entries and the SHA-256 of their
 * JSON, so a damaged or cut object is never read as a shorter list. The records are kept less
 * their data files and key sets (withoutFileLists).
 */
export function encodeIngestRecordsSummary(
  source: string,
  entries: readonly SummaryEntry[],
): Buffer {
  const json = JSON.stringify(
    entries.map((entry) => ({ ...entry, record: entry.record && withoutFileLists(entry.record) })),
  );
  return gzipSync(
    `{"format":${JSON.stringify(format)},"source":${JSON.stringify(source)},"sha256":"${sha256(json)}","entries":${json}}`,
  );
}

/**
 * The entries of a summary of `source`'s records, or the reason it is refused: not gzip, not
 * JSON, another format or source, entries that do not match their checksum, or an entry that
 * is not a record as `check` takes one. A refused summary is read as none.
 */
export function decodeIngestRecordsSummary(
  bytes: Uint8Array,
  source: string,
  recordsPrefix: string,
  check: (record: unknown, where: string) => IngestRecord | null,
): SummaryEntry[] | { readonly refused: string } {
  let parsed: { format?: unknown; source?: unknown; sha256?: unknown; entries?: unknown };
  try {
    parsed = JSON.parse(gunzipSync(bytes).toString('utf8'));
  } catch (error) {
    return { refused: `not gzipped JSON (${(error as Error).message})` };
  }
  if (parsed?.format !== format) return { refused: `format ${String(parsed?.format)}` };
  if (parsed.source !== source) return { refused: `of source ${String(parsed.source)}` };
  if (!Array.isArray(parsed.entries) || parsed.sha256 !== sha256(JSON.stringify(parsed.entries)))
    return { refused: 'its entries do not match their checksum' };
  const entries: SummaryEntry[] = [];
  const keys = new Set<string>();
  for (const entry of parsed.entries as unknown[]) {
    const { key, etag, bytes: size, record, days } = (entry ?? {}) as Record<string, unknown>;
    if (
      typeof key !== 'string' ||
      !key.startsWith(recordsPrefix) ||
      keys.has(key) ||
      typeof etag !== 'string' ||
      !Number.isSafeInteger(size)
    )
      return { refused: `an entry is not a distinct record key of ${source} with its ETag` };
    if (days !== undefined && !isDayList(days))
      return { refused: `the partitions of ${key} are not a list of YYYY-MM-DD days` };
    keys.add(key);
    try {
      entries.push({
        key,
        etag,
        bytes: size as number,
        record: check(record, key),
        ...(days ? { days } : {}),
      });
    } catch (error) {
      return { refused: (error as Error).message };
    }
  }
  return entries;
}

/** A record as summaries keep it (and reads give it): less `files` and `uniqueKeyTimes`. */
export function withoutFileLists(record: IngestRecord): IngestRecord {
  const { files: _files, uniqueKeyTimes: _keySets, ...kept } = record;
  return kept;
}

function isDayList(value: unknown): value is string[] {
  return (
    Array.isArray(value) &&
    value.every((day) => typeof day === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(day))
  );
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
