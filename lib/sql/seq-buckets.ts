import type { SeqRange } from '../seq-ranges.ts';

/**
 * The width of a join bucket of `fstore_seq` values. A range is joined through every bucket it
 * touches, so the join is on equal bucket keys (a hash join) and not a range test of every row
 * against every range. On S3 a writer numbers its rows from its clock in ms × 2^20, so one bucket
 * is one millisecond of numbers, and a range of n rows touches at most n / 2^20 + 2 buckets.
 */
export const seqBucketWidth = 1n << 20n;

/** The bucket key of a `fstore_seq` value in SQL (both dialects): its bucket's first value. */
export function seqBucketSql(seq: string): string {
  return `(${seq} - ${seq} % ${seqBucketWidth})`;
}

/**
 * The CSV lines of the ranges: `bucket,first,last`, one per bucket a range touches. Ranges
 * must not overlap (subtractSeqRanges' output), so a value matches at most one line.
 */
export function seqBucketRows(ranges: readonly SeqRange[]): string {
  const lines: string[] = [];
  for (const [first, last] of ranges) {
    if (first < 0n || first > last)
      throw new Error(`internal: the seq range [${first}, ${last}] cannot be shipped`);
    for (let bucket = first - (first % seqBucketWidth); bucket <= last; bucket += seqBucketWidth)
      lines.push(`${bucket},${first},${last}`);
  }
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}
