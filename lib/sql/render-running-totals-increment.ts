import type { Dialect } from './dialect.ts';
import type { PlannedView } from './point-in-time-plan.ts';
import { type TotalsColumns, totalsColumns } from './render-running-totals.ts';
import { keyIdColumn, totalsRowsOf } from './render-running-totals-key-ids.ts';

/**
 * Incremental running-totals builds (ADR 0007, "Incremental builds"), DuckDB only: running
 * totals are local. An ingest adds rows for some keys; for each such key, the totals before its
 * earliest new event time (`fstore_from`) do not change, and the totals at and after it are a
 * full build over the key's rows from `fstore_from` on, plus the last totals row before
 * `fstore_from` (the carried row). The new totals rows of an ingest are an *increment*; stored
 * totals are a base file and at most one increment, which masks the base rows of its keys from
 * their `fstore_from` on.
 */

/** How each column of the totals combines a carried row with totals built from `fstore_from`. */
export interface TotalsLayout extends TotalsColumns {
  readonly keys: readonly string[];
}

/** Thrown when an increment cannot (or should not) replace a full build; the message says why. */
export class FullBuildRequired extends Error {}

/**
 * The totals columns of a view's build (totalsColumns). The builder checks these names against
 * the build's own output before combining anything.
 */
export function totalsLayout(view: PlannedView): TotalsLayout {
  return { keys: view.joinKeys.map((k) => k.name), ...totalsColumns(view) };
}

/** Every column of the totals, as a set of names: keys, `fstore_t`, then the totals. */
export function layoutColumns(layout: TotalsLayout): string[] {
  return [
    ...layout.keys,
    'fstore_t',
    ...layout.additive,
    ...layout.latest.flatMap((l) => [l.value, l.time]),
  ];
}

const keysMatch = (layout: TotalsLayout, dialect: Dialect, left: string, right: string) =>
  layout.keys
    .map((k) => `${left}.${dialect.quote(k)} IS NOT DISTINCT FROM ${right}.${dialect.quote(k)}`)
    .join(' AND ');

/** Per key with new rows, the time of its earliest new row: `fstore_from` (microseconds). */
export function renderIncrementStarts(
  view: PlannedView,
  dialect: Dialect,
  newRows: string,
): string {
  const keys = view.joinKeys.map((k) => dialect.quote(k.name)).join(', ');
  return `SELECT ${keys}, min(${dialect.epochMicros(dialect.quote(view.timestampColumn))}) AS fstore_from FROM ${newRows} GROUP BY ${keys}`;
}

/**
 * The source rows a full build of the increment's keys from their `fstore_from` reads: rows of
 * keys in `starts` at or after their start. `earliest` (a timestamp literal, the smallest
 * `fstore_from`) lets the Parquet reader skip files and row groups that end before it.
 */
export function renderIncrementSource(
  view: PlannedView,
  dialect: Dialect,
  source: string,
  starts: string,
  earliest: string,
): string {
  const layout = totalsLayout(view);
  const time = `fstore_s.${dialect.quote(view.timestampColumn)}`;
  return [
    `(SELECT fstore_s.* FROM ${source} fstore_s`,
    `  JOIN ${starts} fstore_k ON ${keysMatch(layout, dialect, 'fstore_s', 'fstore_k')}`,
    `  WHERE ${time} >= ${earliest} AND ${dialect.epochMicros(time)} >= fstore_k.fstore_from)`,
  ].join('\n');
}

/** Per key in `starts`, the last row of `totals` before its `fstore_from`, if any. */
export function renderCarriedTotals(
  layout: TotalsLayout,
  dialect: Dialect,
  totals: string,
  starts: string,
): string {
  const keys = layout.keys.map((k) => `fstore_p.${dialect.quote(k)}`).join(', ');
  return [
    `SELECT fstore_p.* FROM ${totals} fstore_p`,
    `JOIN ${starts} fstore_k ON ${keysMatch(layout, dialect, 'fstore_p', 'fstore_k')}`,
    'WHERE fstore_p.fstore_t < fstore_k.fstore_from',
    `QUALIFY row_number() OVER (PARTITION BY ${keys} ORDER BY fstore_p.fstore_t DESC) = 1`,
  ].join('\n');
}

/** Rows of `totals` of the keys in `starts` (all of them: a few per key). */
export function renderKeyTotals(
  layout: TotalsLayout,
  dialect: Dialect,
  totals: string,
  starts: string,
): string {
  return [
    `SELECT fstore_p.* FROM ${totals} fstore_p`,
    `SEMI JOIN ${starts} fstore_k ON ${keysMatch(layout, dialect, 'fstore_p', 'fstore_k')}`,
  ].join('\n');
}

/** Whether some row of `added` has the key and time of a row of `totals` (a tie to resolve). */
export function renderSharedTimes(
  layout: TotalsLayout,
  dialect: Dialect,
  added: string,
  totals: string,
): string {
  return [
    `SELECT count(*) AS ties FROM ${added} fstore_n`,
    `JOIN ${totals} fstore_o ON ${keysMatch(layout, dialect, 'fstore_n', 'fstore_o')} AND fstore_o.fstore_t = fstore_n.fstore_t`,
  ].join('\n');
}

/**
 * The columns of combined totals rows from `fstore_r` (totals built over some rows) and
 * `fstore_c` (totals of the rows before them), cast to the build's column types. `latestFrom`
 * says when the latest value is `fstore_c`'s.
 */
function combinedColumns(
  layout: TotalsLayout,
  dialect: Dialect,
  types: ReadonlyMap<string, string>,
  at: string,
  latestFromCarried: (time: string) => string,
): string[] {
  const q = dialect.quote;
  const cast = (expression: string, name: string) => {
    const type = types.get(name);
    if (!type) throw new FullBuildRequired(`the build has no column ${name}`);
    return `CAST(${expression} AS ${type}) AS ${q(name)}`;
  };
  const r = (name: string) => `fstore_r.${q(name)}`;
  // Carried values are read back from Parquet, where 128-bit integers were stored as doubles.
  const c = (name: string) => `CAST(fstore_c.${q(name)} AS ${types.get(name)})`;
  // A sum of no values is NULL in a full build, so a NULL side adds nothing.
  const added = (name: string) =>
    `CASE WHEN ${c(name)} IS NULL THEN ${r(name)} WHEN ${r(name)} IS NULL THEN ${c(name)} ELSE ${r(name)} + ${c(name)} END`;
  return [
    ...layout.keys.map((k) => cast(`${at}.${q(k)}`, k)),
    cast(`${at}.fstore_t`, 'fstore_t'),
    ...layout.additive.map((name) => cast(added(name), name)),
    ...layout.latest.flatMap(({ value, time }) => [
      cast(`CASE WHEN ${latestFromCarried(time)} THEN ${c(value)} ELSE ${r(value)} END`, value),
      cast(`CASE WHEN ${latestFromCarried(time)} THEN ${c(time)} ELSE ${r(time)} END`, time),
    ]),
  ];
}

/**
 * The increment's new totals rows: each row of `recomputed` (a full build over the
 * increment's source, renderIncrementSource) combined with its key's carried row, cast to the
 * build's column types (`types`, name to SQL type) so the rows are the ones a full build writes.
 */
export function renderCombinedTotals(
  layout: TotalsLayout,
  dialect: Dialect,
  recomputed: string,
  carried: string,
  types: ReadonlyMap<string, string>,
): string {
  const columns = combinedColumns(
    layout,
    dialect,
    types,
    'fstore_r',
    (time) => `fstore_r.${dialect.quote(time)} IS NULL`,
  );
  return [
    `SELECT ${columns.join(',\n  ')}`,
    `FROM (${recomputed}) fstore_r`,
    `LEFT JOIN ${carried} fstore_c ON ${keysMatch(layout, dialect, 'fstore_r', 'fstore_c')}`,
  ].join('\n');
}

/**
 * The increment's new totals rows without reading the source: at each time of a key from its
 * `fstore_from` on (its stored totals' times and its new rows' times), the stored totals at or
 * before that time (`keyTotals`, the carried row included) plus the totals of the new rows
 * alone at or before it (`added`, a build over the new rows). Exact only when no new row shares
 * a key and time with a stored row (renderSharedTimes is 0): then no tie is decided between
 * old and new rows, and the latest value is the one with the later time. Keys are never NULL
 * here (ASOF joins match keys with `=`).
 */
export function renderMergedTotals(
  layout: TotalsLayout,
  dialect: Dialect,
  keyTotals: string,
  carried: string,
  added: string,
  starts: string,
  types: ReadonlyMap<string, string>,
): string {
  const q = dialect.quote;
  const keys = layout.keys.map(q).join(', ');
  const equal = (left: string, right: string) =>
    layout.keys.map((k) => `${left}.${q(k)} = ${right}.${q(k)}`).join(' AND ');
  const columns = combinedColumns(
    layout,
    dialect,
    types,
    'fstore_x',
    (time) => `fstore_r.${q(time)} IS NULL OR fstore_c.${q(time)} > fstore_r.${q(time)}`,
  );
  return [
    'WITH fstore_stored AS (',
    `  SELECT fstore_o.* FROM ${keyTotals} fstore_o JOIN ${starts} fstore_k ON ${equal('fstore_o', 'fstore_k')}`,
    '  WHERE fstore_o.fstore_t >= fstore_k.fstore_from',
    '), fstore_before AS (',
    `  SELECT * FROM fstore_stored UNION ALL BY NAME SELECT * FROM ${carried}`,
    '), fstore_times AS (',
    `  SELECT ${keys}, fstore_t FROM fstore_stored UNION ALL SELECT ${keys}, fstore_t FROM ${added}`,
    ')',
    `SELECT ${columns.join(',\n  ')}`,
    'FROM fstore_times fstore_x',
    `ASOF LEFT JOIN fstore_before fstore_c ON ${equal('fstore_c', 'fstore_x')} AND fstore_c.fstore_t <= fstore_x.fstore_t`,
    `ASOF LEFT JOIN ${added} fstore_r ON ${equal('fstore_r', 'fstore_x')} AND fstore_r.fstore_t <= fstore_x.fstore_t`,
  ].join('\n');
}

/**
 * Rows of an increment that stay: those of keys without new rows, and those before their
 * key's new `fstore_from` (the new rows replace the rest). `increment` is the stored file:
 * its totals rows are taken, without their key ids (the new dictionary gives them again).
 */
export function renderKeptIncrementRows(
  layout: TotalsLayout,
  dialect: Dialect,
  increment: string,
  starts: string,
): string {
  return [
    `SELECT fstore_d.* EXCLUDE (${keyIdColumn}) FROM ${totalsRowsOf(increment)} fstore_d`,
    `LEFT JOIN ${starts} fstore_k ON ${keysMatch(layout, dialect, 'fstore_d', 'fstore_k')}`,
    'WHERE fstore_k.fstore_from IS NULL OR fstore_d.fstore_t < fstore_k.fstore_from',
  ].join('\n');
}

/**
 * Totals rows read as a base plus an increment (both stored files): the base's totals rows the
 * increment does not replace (a key's rows from its first increment row on), then the
 * increment's. The same rows as a full build over the same stored rows, up to the ids of keys
 * new since the base. An increment's ids extend its base's, so the mask joins on the id.
 */
export function renderLayeredTotals(base: string, increment: string): string {
  const firsts = `(SELECT ${keyIdColumn}, min(fstore_t) AS fstore_from FROM ${totalsRowsOf(increment)} fstore_i GROUP BY ${keyIdColumn})`;
  return [
    '(',
    `  SELECT fstore_b.* FROM ${totalsRowsOf(base)} fstore_b`,
    `  LEFT JOIN ${firsts} fstore_k ON fstore_b.${keyIdColumn} = fstore_k.${keyIdColumn}`,
    '  WHERE fstore_k.fstore_from IS NULL OR fstore_b.fstore_t < fstore_k.fstore_from',
    `  UNION ALL BY NAME SELECT * FROM ${totalsRowsOf(increment)}`,
    ')',
  ].join('\n');
}
