/**
 * The `dt=YYYY-MM-DD` partition of a data file in the offline layout
 * (`<source>/dt=YYYY-MM-DD/<file>`, locally and on S3). One home for the parsing: the scan
 * estimates, the local request scope and the materializer's ingest coverage read partitions with
 * it. It imports nothing, so the materializer Lambda can bundle it (parquet-layout.ts loads
 * DuckDB's native module).
 */

/**
 * The partition day (`YYYY-MM-DD`) of `file`, a local path or an S3 object key, when the folder
 * holding the file is `dt=YYYY-MM-DD` and names a calendar day; otherwise undefined. Decisions:
 * - Only the folder holding the file counts: a `dt=` further up (a file in a sub-folder of a
 *   partition, or a store under a `dt=` folder) is not the layout Athena's partition projection
 *   reads (`<source>/dt=${dt}/`).
 * - `/` and `\` both separate folders, so Windows paths read as POSIX ones do.
 * - A day that is not in the calendar (`dt=2024-02-30`) is no partition: projection on a date
 *   range never produces it, so Athena never reads it.
 * - Keys are taken as stored: `dt%3D...` (URL-encoded, as ListObjectsV2 answers only when asked
 *   for EncodingType=url, which fstore never does) is a different folder, not a partition.
 */
export function partitionOfPath(file: string): string | undefined {
  const segments = file.split(/[\\/]/);
  if (segments.length < 2 || segments[segments.length - 1] === '') return undefined;
  const folder = segments[segments.length - 2] ?? '';
  const day = /^dt=(\d{4}-\d{2}-\d{2})$/.exec(folder)?.[1];
  return day !== undefined && isCalendarDay(day) ? day : undefined;
}

/** Days since 1970-01-01 (UTC) of a partition day `YYYY-MM-DD`; throws naming text that is not one. */
export function epochDayOfPartition(day: string): number {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || !isCalendarDay(day))
    throw new RangeError(`partition day "${day}" is not a calendar day (YYYY-MM-DD)`);
  // The ISO form keeps a year below 100 as it is (Date.UTC would add 1900).
  return Date.parse(`${day}T00:00:00Z`) / 86_400_000;
}

function isCalendarDay(day: string): boolean {
  const year = Number(day.slice(0, 4));
  const month = Number(day.slice(5, 7));
  const date = Number(day.slice(8, 10));
  if (month < 1 || month > 12 || date < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const daysInMonth = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
  return date <= daysInMonth;
}
