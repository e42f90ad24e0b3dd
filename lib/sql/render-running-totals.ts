import type { AggregationFunction } from '../definitions/index.ts';
import type { Dialect } from './dialect.ts';
import type { PlannedAggregation, PlannedView } from './point-in-time-plan.ts';

/**
 * Functions a running total answers with two lookups: a window `(t - W, t]` is the total at t
 * minus the total at t - W (count, sum, avg), or the latest value at t if it is newer than
 * t - W (last, days_since_last). min, max and count_distinct cannot be subtracted out.
 */
const runningTotalFunctions: ReadonlySet<AggregationFunction> = new Set([
  'count',
  'sum',
  'avg',
  'last',
  'days_since_last',
]);

export function answeredByRunningTotals(aggregation: PlannedAggregation): boolean {
  return runningTotalFunctions.has(aggregation.function);
}

interface CoveredColumn {
  readonly name: string;
  /** Running count of non-NULL values (count, sum, avg). */
  readonly count: boolean;
  /** Running sum (sum, avg). */
  readonly sum: boolean;
  /** Latest non-NULL value and its time (last, days_since_last). */
  readonly latest: boolean;
}

/** The source columns a view's running totals cover and which totals each needs, stably ordered. */
function coveredColumns(view: PlannedView): CoveredColumn[] {
  const columns = new Map<string, CoveredColumn>();
  for (const a of view.aggregations ?? []) {
    if (!answeredByRunningTotals(a)) continue;
    const was = columns.get(a.column) ?? {
      name: a.column,
      count: false,
      sum: false,
      latest: false,
    };
    columns.set(a.column, {
      name: a.column,
      count: was.count || isSubtracted(a),
      sum: was.sum || a.function === 'sum' || a.function === 'avg',
      latest: was.latest || !isSubtracted(a),
    });
  }
  return [...columns.values()].sort((a, b) => a.name.localeCompare(b.name));
}

function isSubtracted(a: PlannedAggregation): boolean {
  return a.function === 'count' || a.function === 'sum' || a.function === 'avg';
}

/** What identifies a view's running totals: same spec, same stored rows, same totals. */
export function runningTotalsSpec(view: PlannedView): string {
  return JSON.stringify({
    format: 1,
    source: view.source,
    keys: view.joinKeys.map((k) => k.name),
    timestamp: view.timestampColumn,
    created: view.createdColumn ?? null,
    columns: coveredColumns(view),
  });
}

const names = {
  count: (column: string) => `fstore_count_${column}`,
  sum: (column: string) => `fstore_sum_${column}`,
  lastValue: (column: string) => `fstore_last_${column}`,
  lastTime: (column: string) => `fstore_last_t_${column}`,
};

/**
 * Running totals of a view's source: one row per join key and distinct event time (in
 * microseconds, `fstore_t`) holding, over every row of that key up to and including that time,
 * the row count `fstore_rows` and per covered column the count of non-NULL values, their sum
 * (numeric columns), the latest non-NULL value by the winner rule and its time. Built once per
 * change of the stored rows; training sets then look totals up instead of joining each entity
 * row to its window's rows.
 */
export function renderRunningTotalsBuild(view: PlannedView, dialect: Dialect): string {
  const q = dialect.quote;
  const keys = view.joinKeys.map((k) => q(k.name));
  const columns = coveredColumns(view);
  if (columns.length === 0) throw new Error(`view ${view.view} has nothing running totals answer`);
  const created = view.createdColumn ? q(view.createdColumn) : 'CAST(NULL AS BIGINT)';
  const order = `PARTITION BY ${keys.join(', ')} ORDER BY fstore_t, fstore_created NULLS FIRST, fstore_seq NULLS FIRST`;
  const upToRow = `${order} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW`;
  const totals = columns.flatMap(({ name, count, sum, latest }) => {
    const column = q(name);
    return [
      ...(count ? [`count(${column}) OVER (${upToRow}) AS ${q(names.count(name))}`] : []),
      ...(sum ? [`sum(${column}) OVER (${upToRow}) AS ${q(names.sum(name))}`] : []),
      ...(latest
        ? [
            `${dialect.lastValueIgnoringNulls(column, upToRow)} AS ${q(names.lastValue(name))}`,
            `max(CASE WHEN ${column} IS NOT NULL THEN fstore_t END) OVER (${upToRow}) AS ${q(names.lastTime(name))}`,
          ]
        : []),
    ];
  });
  return [
    `SELECT ${keys.join(', ')}, fstore_t, count(*) OVER (${upToRow}) AS fstore_rows,`,
    `  ${totals.join(',\n  ')}`,
    'FROM (',
    `  SELECT ${keys.join(', ')}, ${dialect.epochMicros(q(view.timestampColumn))} AS fstore_t, ${created} AS fstore_created, fstore_seq,`,
    `    ${columns.map((c) => q(c.name)).join(', ')}`,
    `  FROM ${dialect.sourceRelation(view.source)}`,
    ') fstore_source',
    // Keep the last row of each event time: its totals include every row at that time.
    `QUALIFY lead(fstore_t) OVER (${order}) IS DISTINCT FROM fstore_t`,
  ].join('\n');
}

export interface RunningTotalsRenderOptions {
  /** Relation of entity rows: the view's join keys, the timestamp column and `fstore_row_id`. */
  readonly entityRelation: string;
  readonly entityTimestampColumn: string;
  /** The relation renderRunningTotalsBuild's rows were stored in. */
  readonly runningTotals: string;
}

/**
 * The aggregates answered by running totals (see answeredByRunningTotals) for every entity
 * row: each entity row looks up the totals at t and at t - W for each window with one ASOF
 * join (DuckDB), and a window is the difference. Same contract as renderAggregationJoin
 * for those features: `fstore_row_id`, one column per feature, `fstore_match`. Sums of float
 * columns are differences of running sums, so they can differ from a direct sum in the last
 * bits of the running total.
 */
export function renderAggregationFromRunningTotals(
  view: PlannedView,
  dialect: Dialect,
  options: RunningTotalsRenderOptions,
): string {
  const q = dialect.quote;
  const aggregations = (view.aggregations ?? []).filter(answeredByRunningTotals);
  if (aggregations.length === 0)
    throw new Error(`view ${view.view} has nothing running totals answer`);
  const keys = view.joinKeys.map((k) => q(k.name));
  const micros = (seconds: number) => seconds * 1_000_000;
  const widest = Math.max(...(view.aggregations ?? []).map((a) => a.windowSeconds));
  const subtracted = aggregations.filter(isSubtracted);
  const bounds = [...new Set([0, widest, ...subtracted.map((a) => a.windowSeconds)])].sort(
    (a, b) => a - b,
  );
  const at = (name: string, seconds: number) => q(`${name}@${seconds}`);
  const sums = new Set(subtracted.filter((a) => a.function !== 'count').map((a) => a.column));
  const latest = new Set(aggregations.filter((a) => !subtracted.includes(a)).map((a) => a.column));
  const lookups = [
    ...[0, widest].map((bound) => ({ name: 'fstore_rows', bound })),
    ...[...new Set(subtracted.map((a) => a.column))].flatMap((column) =>
      bounds.flatMap((bound) => [
        { name: names.count(column), bound },
        ...(sums.has(column) ? [{ name: names.sum(column), bound }] : []),
      ]),
    ),
    ...[...latest].flatMap((column) => [
      { name: names.lastValue(column), bound: 0 },
      { name: names.lastTime(column), bound: 0 },
    ]),
  ];
  const pivot = lookups.map(
    (l) =>
      `any_value(j.${q(l.name)}) FILTER (WHERE j.fstore_bound = ${micros(l.bound)}) AS ${at(l.name, l.bound)}`,
  );
  const difference = (name: string, seconds: number) =>
    `(coalesce(${at(name, 0)}, 0) - coalesce(${at(name, seconds)}, 0))`;
  const features = aggregations.map(
    (a) =>
      `CAST(${windowValue(a, { at, difference, micros })} AS ${dialect.sqlType(a.type)}) AS ${q(a.outputName)}`,
  );
  const entityKeys = keys.map((k) => `e.${k}`);
  return [
    `  SELECT fstore_row_id, ${features.join(',\n    ')},`,
    `    ${difference('fstore_rows', widest)} > 0 AS fstore_match`,
    '  FROM (',
    `    SELECT j.fstore_row_id, any_value(j.fstore_e_t) AS fstore_e_t,`,
    `      ${pivot.join(',\n      ')}`,
    '    FROM (',
    `      SELECT p.fstore_row_id, p.fstore_e_t, p.fstore_bound, r.*`,
    '      FROM (',
    `        SELECT ${entityKeys.join(', ')}, e.fstore_row_id, e.fstore_e_t, b.fstore_bound, e.fstore_e_t - b.fstore_bound AS fstore_x`,
    `        FROM (SELECT ${keys.join(', ')}, fstore_row_id, ${dialect.epochMicros(q(options.entityTimestampColumn))} AS fstore_e_t FROM ${options.entityRelation}) e`,
    `        CROSS JOIN (VALUES ${bounds.map((b) => `(${micros(b)})`).join(', ')}) b(fstore_bound)`,
    '      ) p',
    `      ASOF LEFT JOIN ${options.runningTotals} r ON ${keys.map((k) => `r.${k} = p.${k}`).join(' AND ')} AND r.fstore_t <= p.fstore_x`,
    '    ) j',
    '    GROUP BY j.fstore_row_id',
    '  ) fstore_totals',
  ].join('\n');
}

function windowValue(
  a: PlannedAggregation,
  sql: {
    at: (name: string, seconds: number) => string;
    difference: (name: string, seconds: number) => string;
    micros: (seconds: number) => number;
  },
): string {
  const count = sql.difference(names.count(a.column), a.windowSeconds);
  const sum = sql.difference(names.sum(a.column), a.windowSeconds);
  const lastTime = sql.at(names.lastTime(a.column), 0);
  const fresh = `${lastTime} > fstore_e_t - ${sql.micros(a.windowSeconds)}`;
  switch (a.function) {
    case 'count':
      return count;
    case 'sum':
      return `CASE WHEN ${count} > 0 THEN ${sum} END`;
    case 'avg':
      return `CASE WHEN ${count} > 0 THEN CAST(${sum} AS DOUBLE) / ${count} END`;
    case 'last':
      return `CASE WHEN ${fresh} THEN ${sql.at(names.lastValue(a.column), 0)} END`;
    case 'days_since_last':
      return `CASE WHEN ${fresh} THEN CAST(fstore_e_t - ${lastTime} AS DOUBLE) / 86400000000.0 END`;
    default:
      throw new Error(`running totals cannot answer ${a.function}`);
  }
}
