/**
 * The first `fstore_seq` of an S3 ingest starting at `ms` (epoch milliseconds): ms × 2^20, so
 * later ingests get greater numbers, up to a million rows per millisecond apart. Exact as a
 * double (a power of two times an integer below 2^53). A push on AWS ranks its online items
 * by the same clock (write-push-online.ts), so only rows ingested after it replace a tie.
 */
export function clockSeq(ms: number): number {
  return ms * 1_048_576;
}
