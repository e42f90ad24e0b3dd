import path from 'node:path';
import { duckdbParquetFiles } from '../sql/duckdb-dialect.ts';
import type { PartitionedFile } from './dt-partition.ts';
import { type IngestRecord, ingestIdOfFile } from './ingest-manifest.ts';
import { pinThrough, type SeqPin, type SeqRange } from './seq-pins.ts';

/** How a read as of a pin takes each committed file of a source. */
export interface PinnedFileReads {
  /** Every row within the pin: read without the `fstore_seq` filter. */
  readonly whole: PartitionedFile[];
  /** Rows within the pin and rows outside it (a compaction's merge), or of unknown origin. */
  readonly filtered: PartitionedFile[];
  /** No row within the pin: not read. */
  readonly skipped: PartitionedFile[];
}

/**
 * Sorts `files` of `source` by what a read as of `pin` needs of them. Each committed file is
 * named by the records of the ingests whose rows it holds (an ingest's own files; a compaction's
 * merged file is named by every ingest it merged; a rewrite keeps some of the rows), and an
 * ingest's rows carry `fstore_seq` from `firstSeq` to `firstSeq + rows - 1`, which compaction
 * and rewrites keep. So a file whose ingests all lie within the pin (at or below it, outside
 * every excluded range) needs no filter, and one whose ingests all lie outside it holds no row
 * the read sees. A record older than the commit rule (no `files`) names its files by the ingest
 * id that starts their names. A file no record of the source names keeps the filter.
 * `records` must be the manifest read the files were taken from.
 */
export function pinnedFileReads(
  offlineRoot: string,
  source: string,
  files: readonly PartitionedFile[],
  records: readonly IngestRecord[],
  pin: SeqPin,
): PinnedFileReads {
  const byPath = new Map<string, SeqRange[]>();
  const byIngestId = new Map<string, SeqRange>();
  for (const record of records) {
    if (record.source !== source) continue;
    const first = BigInt(record.firstSeq);
    const range = { first, last: first + BigInt(record.rows) - 1n };
    if (!record.files) {
      byIngestId.set(record.ingestId, range);
      continue;
    }
    for (const file of record.files) {
      const at = path.join(offlineRoot, file);
      byPath.set(at, [...(byPath.get(at) ?? []), range]);
    }
  }
  const reads: PinnedFileReads = { whole: [], filtered: [], skipped: [] };
  for (const file of files) {
    const legacy = byIngestId.get(ingestIdOfFile(path.basename(file.path)) ?? '');
    const ranges = [...(byPath.get(file.path) ?? []), ...(legacy ? [legacy] : [])];
    const seen = ranges.map((range) => rangeWithin(range, pin));
    if (seen.length > 0 && seen.every((s) => s === 'all')) reads.whole.push(file);
    else if (seen.length > 0 && seen.every((s) => s === 'none')) reads.skipped.push(file);
    else reads.filtered.push(file);
  }
  return reads;
}

/** How much of `range` a read as of `pin` sees. An empty range (an ingest of no rows): none. */
function rangeWithin(range: SeqRange, pin: SeqPin): 'all' | 'none' | 'part' {
  const through = pinThrough(pin);
  const excluded = typeof pin === 'bigint' ? [] : pin.excluded;
  if (range.last < range.first || range.first > through) return 'none';
  const overlaps = excluded.some((e) => e.first <= range.last && range.first <= e.last);
  if (range.last <= through && !overlaps) return 'all';
  const seenUpTo = range.last < through ? range.last : through;
  return covered({ first: range.first, last: seenUpTo }, excluded) ? 'none' : 'part';
}

/** Whether `ranges` (in any order, possibly touching) hold every number of `range`. */
function covered(range: SeqRange, ranges: readonly SeqRange[]): boolean {
  const sorted = [...ranges].sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
  let next = range.first;
  for (const cut of sorted) {
    if (cut.last < next) continue;
    if (cut.first > next) return false;
    next = cut.last + 1n;
    if (next > range.last) return true;
  }
  return false;
}

/**
 * The relation of a read as of a pin over `reads`: the files wholly within it as they are, those
 * partly within it behind `condition` (the pin's `fstore_seq` condition), none of the others.
 * `relationOf` makes the relation of a group of files (its key filters included). The source's
 * newest file (`newest`, its newest columns: older files may lack a column added since) is
 * read for its columns alone when the pin leaves it out, as is a skipped file when nothing is
 * read, so the relation has the columns the unpinned one has.
 */
export function pinnedFilesRelation(options: {
  readonly reads: PinnedFileReads;
  readonly condition: string;
  readonly newest?: string;
  readonly relationOf: (files: readonly PartitionedFile[]) => string;
}): string {
  const { reads, condition, relationOf } = options;
  const read = [...reads.whole, ...reads.filtered];
  const columnsOf =
    options.newest !== undefined && !read.some((f) => f.path === options.newest)
      ? options.newest
      : read.length === 0
        ? reads.skipped[0]?.path
        : undefined;
  if (reads.filtered.length === 0 && columnsOf === undefined && reads.whole.length > 0)
    return relationOf(reads.whole);
  const scans = [
    ...(reads.whole.length > 0 ? [`SELECT * FROM ${relationOf(reads.whole)}`] : []),
    ...(reads.filtered.length > 0
      ? [`SELECT * FROM ${relationOf(reads.filtered)} WHERE ${condition}`]
      : []),
    ...(columnsOf !== undefined
      ? [`SELECT * FROM ${duckdbParquetFiles([columnsOf])} WHERE FALSE`]
      : []),
  ];
  return `(${scans.join(' UNION ALL BY NAME ')})`;
}
