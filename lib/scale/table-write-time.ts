import type { DynamoWriteLimits } from './aws-prices.ts';

export interface TableWriteTime {
  readonly seconds: number;
  /** The highest write units a second reached (what the table is warm for afterwards). */
  readonly peakWriteUnits: number;
  /** Seconds in which the writers could have gone faster than the table allowed. */
  readonly throttledSeconds: number;
}

/**
 * How long writers demanding `demandWriteUnits` a second take to write `writeUnits` into an
 * on-demand table: the table serves at most its warm throughput, and each period of
 * `doublingSeconds` at a peak lets the next period reach twice that peak, up to the quota
 * (DynamoDB's "double the previous peak within 30 minutes"). Keys are assumed spread evenly
 * over partitions (entity keys are hashed), so no single partition's 1,000 units bind first.
 */
export function tableWriteTime(
  writeUnits: number,
  demandWriteUnits: number,
  limits: DynamoWriteLimits,
): TableWriteTime {
  if (!(writeUnits >= 0)) throw new RangeError('writeUnits must be a number >= 0');
  if (!(demandWriteUnits > 0)) throw new RangeError('demandWriteUnits must be a number > 0');
  let ceiling = Math.min(limits.warmWriteUnits, limits.tableQuotaWriteUnits);
  let left = writeUnits;
  let seconds = 0;
  let peak = 0;
  let throttledSeconds = 0;
  while (left > 0) {
    const rate = Math.min(demandWriteUnits, ceiling);
    const period = Math.min(limits.doublingSeconds, left / rate);
    seconds += period;
    left -= rate * period;
    peak = Math.max(peak, rate);
    if (demandWriteUnits > rate) throttledSeconds += period;
    ceiling = Math.min(limits.tableQuotaWriteUnits, Math.max(ceiling, 2 * rate));
  }
  return { seconds, peakWriteUnits: peak, throttledSeconds };
}
