import { dayOfMicros, epochMicrosOf, minusSeconds } from '../epoch-micros.ts';
import { millisecondRange } from '../sql/athena-service-query.ts';
import { type PointInTimePlan, sourceLookbackSeconds } from '../sql/point-in-time-plan.ts';

/** The `dt` partitions of one source a training set can read: `fromDay`..`toDay`, both inclusive. */
export interface SourcePartitionRange {
  readonly source: string;
  /** Undefined: from the first partition (a view on the source has no TTL). */
  readonly fromDay?: string;
  readonly toDay: string;
}

/** The objects stored under one `dt=` partition. */
export interface PartitionObjects {
  readonly dt: string;
  readonly objects: number;
  readonly bytes: number;
}

/** What a training set would read of one source. */
export interface SourceScanEstimate extends SourcePartitionRange {
  /** Partitions in the range that hold objects, in `dt` order. */
  readonly partitions: readonly PartitionObjects[];
  readonly objects: number;
  readonly bytes: number;
  /** How often the statement reads the source (Athena bills each read); local: 1. */
  readonly reads: number;
  /** Bytes of the ingest records read with each read of the source (Athena only). */
  readonly recordBytes: number;
}

/**
 * The `dt` range of each source of `plan` that entity rows between `timeRange.min` and `max` can
 * reach: the same bounds the Athena statement puts in each source scan's WHERE (min rounded down
 * and max up to the millisecond, minus the longest TTL or window of the plan's views on the
 * source; from the first partition when one has no TTL).
 */
export function partitionRanges(
  plan: PointInTimePlan,
  timeRange: { readonly min: string; readonly max: string },
): SourcePartitionRange[] {
  const range = millisecondRange(timeRange);
  const sources = [...new Set(plan.views.map((v) => v.source))];
  return sources.map((source) => {
    const lookback = sourceLookbackSeconds(plan, source);
    return {
      source,
      ...(lookback === undefined
        ? {}
        : { fromDay: dayOfMicros(minusSeconds(epochMicrosOf(range.min), lookback)) }),
      toDay: dayOfMicros(epochMicrosOf(range.max)),
    };
  });
}

/** Whether partition `dt` ('YYYY-MM-DD', which sorts as text by date) is in `range`. */
export function inPartitionRange(range: SourcePartitionRange, dt: string): boolean {
  return (range.fromDay === undefined || dt >= range.fromDay) && dt <= range.toDay;
}

/** Groups (dt, bytes) per partition, in `dt` order. */
export function partitionTotals(
  files: Iterable<{ readonly dt: string; readonly bytes: number }>,
): PartitionObjects[] {
  const totals = new Map<string, { objects: number; bytes: number }>();
  for (const file of files) {
    const total = totals.get(file.dt) ?? { objects: 0, bytes: 0 };
    total.objects += 1;
    total.bytes += file.bytes;
    totals.set(file.dt, total);
  }
  return [...totals]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([dt, total]) => ({ dt, ...total }));
}

const mebibyte = 1024 ** 2;
const tebibyte = 1024 ** 4;

/**
 * Athena's published price for SQL queries: $5 per TB scanned, each query rounded up to the
 * megabyte with a 10 MB minimum. TB and MB are taken as 2^40 and 2^20 bytes, and regions differ
 * slightly, so this is an estimate; the bill is what counts.
 */
export const athenaPrice = { usdPerTerabyte: 5, minimumMegabytes: 10 } as const;

/** What Athena would bill for one query scanning `bytes` (an estimate: see `athenaPrice`). */
export function athenaQueryPrice(bytes: number): { billedBytes: number; usd: number } {
  if (!Number.isFinite(bytes) || bytes < 0)
    throw new Error(`bytes scanned must be a non-negative number, not ${bytes}`);
  const billedBytes = Math.max(
    Math.ceil(bytes / mebibyte) * mebibyte,
    athenaPrice.minimumMegabytes * mebibyte,
  );
  return { billedBytes, usd: (billedBytes / tebibyte) * athenaPrice.usdPerTerabyte };
}
