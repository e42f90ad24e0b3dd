/**
 * The `dt=YYYY-MM-DD` partition of a data file in the offline layout
 * (`<source>/dt=YYYY-MM-DD/<file>`, locally and on S3). One home for the parsing: the scan
 * estimates, the local request scope and the materializer's ingest coverage read partitions with
 * it. It imports only lib/epoch-micros.ts (no I/O), so the materializer Lambda can bundle it
 * (parquet-layout.ts loads DuckDB's native module).
 */

import { microsPerDay, parseEpochMicros } from '../epoch-micros.ts';

/**
 * The partition day (`YYYY-MM-DD`) of `file`, a local path or an S3 object key, when the folder
 * holding the file is `dt=YYYY-MM-DD` and names a calendar day; otherwise undefined. Decisions:
 * - Only the folder holding the file counts: a `dt=` further up (a file in a sub-folder of a
 *   partition, or a store under a `dt=` folder) is not the layout Athena's partition projection
 *   reads (`<source>/dt=${dt}/`).
 * - Only `/` separates folders: it is S3's only delimiter, and local paths are POSIX (Windows is
 *   not a target). A `\` is part of a name, as S3 and POSIX file systems store it.
 * - A day that is not in the calendar (`dt=2024-02-30`) is no partition: projection on a date
 *   range never produces it, so Athena never reads it.
 * - Keys are taken as stored: `dt%3D...` (URL-encoded, as ListObjectsV2 answers only when asked
 *   for EncodingType=url, which fstore never does) is a different folder, not a partition.
 */
export function partitionOfPath(file: string): string | undefined {
  const segments = file.split('/');
  if (segments.length < 2 || segments[segments.length - 1] === '') return undefined;
  const folder = segments[segments.length - 2] ?? '';
  const day = /^dt=(\d{4}-\d{2}-\d{2})$/.exec(folder)?.[1];
  return day !== undefined && dayMicros(day) !== undefined ? day : undefined;
}

/** A data file with its `dt` partition, as text and as days since 1970-01-01 (UTC), when in one. */
export interface PartitionedFile {
  readonly path: string;
  readonly dt?: string;
  readonly day?: number;
}

/** `file` with its partition, parsed once for every use of it. */
export function partitionedFile(file: string): PartitionedFile {
  const dt = partitionOfPath(file);
  return dt === undefined ? { path: file } : { path: file, dt, day: epochDayOfPartition(dt) };
}

/** Days since 1970-01-01 (UTC) of a partition day `YYYY-MM-DD`; throws naming text that is not one. */
export function epochDayOfPartition(day: string): number {
  const micros = dayMicros(day);
  if (micros === undefined)
    throw new RangeError(`partition day "${day}" is not a calendar day (YYYY-MM-DD)`);
  return Number(micros / microsPerDay);
}

/** Midnight (UTC) of `YYYY-MM-DD` in epoch microseconds; undefined when it is not a calendar day. */
function dayMicros(day: string): bigint | undefined {
  // parseEpochMicros also takes signed and longer years, times and offsets: no partition has them.
  return /^\d{4}-\d{2}-\d{2}$/.test(day) ? parseEpochMicros(day) : undefined;
}
