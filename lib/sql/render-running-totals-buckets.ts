import type { Dialect } from './dialect.ts';
import { keyIdColumn, totalsRowsOf } from './render-running-totals-key-ids.ts';

/**
 * Running totals repeated per time bucket, so a lookup is a hash join on (key id, bucket)
 * instead of an ASOF join that sorts every totals row on every query (ADR 0007, "Time buckets").
 * Each totals row holds from its time `fstore_t` until its key's next one, `fstore_t_next`
 * (NULL for a key's last row: no end), and is stored once for every bucket `t // width` that
 * interval touches. The width is the key's own (renderBucketKeys), so one key's spread in time
 * (a backfilled row from years ago, a burst) changes neither the other keys' buckets nor the
 * bound on the repeated rows.
 */
export interface TimeBuckets {
  /** The repeated rows: `fstore_key_id`, `fstore_bucket`, `fstore_t`, `fstore_t_next`, totals. */
  readonly relation: string;
  /**
   * One row a key with totals: the join keys, `fstore_key_id`, its bucket width `fstore_width`
   * (µs) and its last totals time `fstore_t_last` (later probes look up that time's bucket).
   */
  readonly keys: string;
}

export const bucketColumn = 'fstore_bucket';
export const nextTimeColumn = 'fstore_t_next';
export const widthColumn = 'fstore_width';
export const lastTimeColumn = 'fstore_t_last';

/**
 * About this many totals rows of a key per bucket: wider buckets repeat less but give each
 * probe more candidates; 4 measured best on bench:agg's data (ADR 0007).
 */
const rowsPerBucket = 4;

/**
 * A key's buckets cover at most its rows times this (plus one): the width is never below the
 * key's whole time span / (this * rows), so its repeated rows stay under (1 + this) * rows.
 */
const bucketsPerRowLimit = 2;

/**
 * The per-key relation of TimeBuckets.keys over the totals rows of `totals` and the key-id
 * dictionary `keyIds` (join keys and `fstore_key_id`). A key's width gives about rowsPerBucket
 * rows a bucket over the central 80 % of its times (10th to 90th percentile), so a few rows far
 * from the rest (a backfill years back) do not widen it; it is raised to span / (2 * rows) when
 * that is wider, so a key's buckets stay fewer than twice its rows plus one. Any positive
 * width gives the same answers; the width only decides the cost.
 */
export function renderBucketKeys(
  totals: string,
  keyIds: string,
  keys: readonly string[],
  dialect: Dialect,
): string {
  const quoted = keys.map((k) => `fstore_i.${dialect.quote(k)}`);
  const central = `(fstore_q[2] - fstore_q[1] + 1) * ${rowsPerBucket} / (0.8 * fstore_n)`;
  const spread = `(fstore_last - fstore_first + 1) / (${bucketsPerRowLimit} * fstore_n)`;
  return [
    `SELECT ${quoted.join(', ')}, fstore_i.${keyIdColumn}, fstore_s.fstore_last AS ${lastTimeColumn},`,
    `  CAST(greatest(1, ceil(greatest(${central}, ${spread}))) AS BIGINT) AS ${widthColumn}`,
    `FROM ${keyIds} fstore_i JOIN (`,
    `  SELECT ${keyIdColumn}, count(*) AS fstore_n, min(fstore_t) AS fstore_first, max(fstore_t) AS fstore_last,`,
    '    quantile_disc(fstore_t, [0.1, 0.9]) AS fstore_q',
    `  FROM ${totals} GROUP BY ${keyIdColumn}`,
    `) fstore_s ON fstore_s.${keyIdColumn} = fstore_i.${keyIdColumn}`,
  ].join('\n');
}

/**
 * The repeated rows of the totals rows of `relation` (columns: the stored totals to keep), each
 * key's by its width in `bucketKeys` (renderBucketKeys over the same totals).
 */
export function renderTimeBuckets(
  relation: string,
  bucketKeys: string,
  totals: readonly string[],
  dialect: Dialect,
): string {
  const columns = totals.map(dialect.quote);
  const width = `fstore_k.${widthColumn}`;
  // `//` truncates toward zero, which is monotone in t: a time in [t, t_next) falls in a bucket
  // of the row's range whatever its sign. A key's last row holds on without end, and probes
  // past it look up its own bucket (renderProbeBucket).
  const buckets = `unnest(range(fstore_r.fstore_t // ${width}, coalesce(fstore_r.${nextTimeColumn} - 1, fstore_r.fstore_t) // ${width} + 1))`;
  return [
    `SELECT fstore_r.${keyIdColumn}, ${buckets} AS ${bucketColumn}, fstore_r.fstore_t, fstore_r.${nextTimeColumn}, ${columns.map((c) => `fstore_r.${c}`).join(', ')}`,
    'FROM (',
    `  SELECT ${keyIdColumn}, fstore_t, lead(fstore_t) OVER (PARTITION BY ${keyIdColumn} ORDER BY fstore_t) AS ${nextTimeColumn}, ${columns.join(', ')}`,
    `  FROM ${relation}`,
    `) fstore_r JOIN ${bucketKeys} fstore_k ON fstore_k.${keyIdColumn} = fstore_r.${keyIdColumn}`,
  ].join('\n');
}

/**
 * The rows of `relation` (with `fstore_key_id`) of the keys that have totals rows in
 * `increment` (a stored increment file's relation): the keys whose buckets an increment
 * replaces.
 */
export function renderRowsOfIncrementKeys(relation: string, increment: string): string {
  const changed = `(SELECT DISTINCT ${keyIdColumn} FROM ${totalsRowsOf(increment)} fstore_i)`;
  return `(SELECT fstore_a.* FROM ${relation} fstore_a SEMI JOIN ${changed} fstore_k ON fstore_a.${keyIdColumn} = fstore_k.${keyIdColumn})`;
}

/**
 * A base's and an increment's time buckets read as one (ADR 0007, "Incremental builds"): the
 * base's of the keys the increment does not hold, then the increment's, which cover every
 * totals row of its keys (their base rows before the increment's too). An increment's key ids
 * extend its base's, so the base's rows are masked by id. So an ingest writes buckets for the
 * keys it changed only, and the base keeps the buckets written when it was built.
 */
export function renderLayeredBuckets(base: TimeBuckets, increment: TimeBuckets): TimeBuckets {
  const masked = (relation: string) =>
    `SELECT fstore_b.* FROM ${relation} fstore_b ANTI JOIN ${increment.keys} fstore_k ON fstore_b.${keyIdColumn} = fstore_k.${keyIdColumn}`;
  const layered = (base: string, increment: string) =>
    `(${masked(base)} UNION ALL BY NAME SELECT * FROM ${increment})`;
  return {
    relation: layered(base.relation, increment.relation),
    keys: layered(base.keys, increment.keys),
  };
}

/**
 * The lookup's join of probes `p` (`fstore_key_id`, `fstore_bucket`, `fstore_x`) to the totals
 * row at or before each probe's time: the one row of the probe's key and bucket whose interval
 * holds it.
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

/**
 * A probe's bucket, from its time and its key's row of TimeBuckets.keys (`key`, an alias): that
 * of its time, or of the key's last time for later probes. NULL for a key without totals.
 */
export function renderProbeBucket(key: string, time: string): string {
  return `least(${time}, ${key}.${lastTimeColumn}) // ${key}.${widthColumn} AS ${bucketColumn}`;
}
