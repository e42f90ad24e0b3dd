import type { Dialect } from './dialect.ts';
import { keyIdColumn } from './render-running-totals-key-ids.ts';

/**
 * Running totals repeated per time bucket, so a lookup is a hash join on (key id, bucket)
 * instead of an ASOF join that sorts every totals row on every query (ADR 0007, "Time buckets").
 * Each totals row holds from its time `fstore_t` until its key's next one, `fstore_t_next`
 * (NULL for a key's last row: until `lastTime`, the latest time of all totals), and is stored
 * once for every bucket `t // width` that interval touches.
 */
export interface TimeBuckets {
  /** The repeated rows: `fstore_key_id`, `fstore_bucket`, `fstore_t`, `fstore_t_next`, totals. */
  readonly relation: string;
  /** Microseconds per bucket. */
  readonly width: number;
  /** The latest `fstore_t` of all totals: later probes look up the bucket of this time. */
  readonly lastTime: number;
}

export const bucketColumn = 'fstore_bucket';
export const nextTimeColumn = 'fstore_t_next';

/**
 * Repeated rows are at most rows + keys * (1 + span / width), so with this width at most
 * 1.25 times the totals plus one row a key. Wider buckets repeat less but give each probe more
 * candidates (rows per key and bucket); 4 measured best on bench:agg's data (ADR 0007).
 */
const rowsPerKeyAndBucket = 4;

/**
 * A key with far more rows than the average one gets that many more candidates per probe in
 * its buckets (the width is one for all keys): past this many times the average, the lookup
 * keeps the ASOF join, whose cost does not grow with a key's rows.
 */
const densestKeyLimit = 16;

/**
 * The bucket width for totals of `rows` rows over `keys` keys between two times (µs), or
 * undefined when time buckets would not pay: no rows, or a key past densestKeyLimit.
 */
export function timeBucketWidth(stats: {
  readonly rows: number;
  readonly keys: number;
  readonly densestKeyRows: number;
  readonly firstTime: number;
  readonly lastTime: number;
}): number | undefined {
  if (stats.rows <= 0 || stats.keys <= 0) return undefined;
  if (stats.densestKeyRows > (densestKeyLimit * stats.rows) / stats.keys) return undefined;
  const span = stats.lastTime - stats.firstTime + 1;
  return Math.max(1, Math.ceil((rowsPerKeyAndBucket * span * stats.keys) / stats.rows));
}

/** The statistics timeBucketWidth needs, over the totals rows of `relation`. */
export function renderTimeBucketStatistics(relation: string): string {
  return [
    'SELECT sum(fstore_n) AS total_rows, count(*) AS key_count, max(fstore_n) AS densest_key_rows,',
    '  min(fstore_first) AS first_time, max(fstore_last) AS last_time',
    `FROM (SELECT count(*) AS fstore_n, min(fstore_t) AS fstore_first, max(fstore_t) AS fstore_last FROM ${relation} GROUP BY ${keyIdColumn}) fstore_keys`,
  ].join('\n');
}

/** The repeated rows of the totals rows of `relation` (columns: the stored totals to keep). */
export function renderTimeBuckets(
  relation: string,
  totals: readonly string[],
  bucketing: { readonly width: number; readonly lastTime: number },
  dialect: Dialect,
): string {
  if (!Number.isSafeInteger(bucketing.width) || bucketing.width < 1)
    throw new Error(`time bucket width must be a positive integer, got ${bucketing.width}`);
  if (!Number.isSafeInteger(bucketing.lastTime))
    throw new Error(`time buckets' last time must be an integer, got ${bucketing.lastTime}`);
  const columns = totals.map(dialect.quote);
  const width = String(bucketing.width);
  // `//` truncates toward zero, which is monotone in t: a time in [t, t_next) falls in a bucket
  // of the row's range whatever its sign.
  const buckets = `unnest(range(fstore_t // ${width}, coalesce(${nextTimeColumn} - 1, ${bucketing.lastTime}) // ${width} + 1))`;
  return [
    `SELECT ${keyIdColumn}, ${buckets} AS ${bucketColumn}, fstore_t, ${nextTimeColumn}, ${columns.join(', ')}`,
    'FROM (',
    `  SELECT ${keyIdColumn}, fstore_t, lead(fstore_t) OVER (PARTITION BY ${keyIdColumn} ORDER BY fstore_t) AS ${nextTimeColumn}, ${columns.join(', ')}`,
    `  FROM ${relation}`,
    ') fstore_totals',
  ].join('\n');
}

/**
 * The lookup's join of probes `p` (`fstore_key_id`, `fstore_x`) to the totals row at or before
 * each probe's time: the one row of the probe's key and bucket whose interval holds it.
 */
export function renderBucketJoin(
  buckets: TimeBuckets,
  stored: readonly string[],
  dialect: Dialect,
): string {
  const columns = stored.map(dialect.quote).join(', ');
  return [
    `      LEFT JOIN (SELECT ${keyIdColumn}, ${bucketColumn}, fstore_t, ${nextTimeColumn}, ${columns} FROM ${buckets.relation}) r`,
    `        ON r.${keyIdColumn} = p.${keyIdColumn} AND r.${bucketColumn} = p.${bucketColumn}`,
    `        AND r.fstore_t <= p.fstore_x AND p.fstore_x < coalesce(r.${nextTimeColumn}, 9223372036854775807)`,
  ].join('\n');
}

/** A probe's bucket: that of its time, or of the last time for later probes. */
export function renderProbeBucket(buckets: TimeBuckets, time: string): string {
  return `least(${time}, ${buckets.lastTime}) // ${buckets.width} AS ${bucketColumn}`;
}
