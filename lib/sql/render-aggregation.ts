import { epochMicrosOf, formatMicros, minusSeconds } from '../epoch-micros.ts';
import { type Dialect, partitionDay } from './dialect.ts';
import { exactSumScale, isFloatType, roundedSum, scaledInteger } from './exact-sum.ts';
import type { PlannedAggregation, PlannedView } from './point-in-time-plan.ts';
import { keysAfter } from './render-latest.ts';
import { viewSourceRelation } from './view-source.ts';

export interface AggregationRenderOptions {
  /** Relation of entity rows: the view's join keys, the timestamp column and `fstore_row_id`. */
  readonly entityRelation: string;
  readonly entityTimestampColumn: string;
  /** Earliest and latest entity time (ISO), to read only partitions a window can reach. */
  readonly entityTimeRange?: { readonly min: string; readonly max: string };
  /** Also return the join keys, for a caller that would otherwise read the entity relation again. */
  readonly withKeys?: boolean;
}

/**
 * Windowed aggregates of one aggregation view for every entity row, in one pass: source rows
 * and entity rows are merged per entity key and sorted by time in microseconds, and each
 * feature is a window function over `RANGE BETWEEN W-1 PRECEDING AND CURRENT ROW`, i.e. source
 * rows with `t - W < event_ts <= t` (entity rows carry NULL values, so they count for nothing).
 * `last` and `days_since_last` follow the point-in-time winner rule (event time, created time,
 * ingestion order). Cost is one sort of the merged rows plus a sliding window per feature,
 * near linear in rows, instead of joining every entity row to its entity's whole history.
 *
 * Returns `fstore_row_id`, one column per feature (by output name) and `fstore_match` (whether
 * the widest window held any row).
 */
export function renderAggregationView(
  view: PlannedView,
  dialect: Dialect,
  options: AggregationRenderOptions,
): string {
  const aggregations = view.aggregations ?? [];
  if (aggregations.length === 0) throw new Error(`view ${view.view} has no aggregations`);
  const q = dialect.quote;
  const keys = view.joinKeys.map((k) => q(k.name));
  const columns = [...new Set(aggregations.map((a) => a.column))];
  const columnTypes = new Map(aggregations.map((a) => [a.column, a.columnType]));
  const widest = Math.max(...aggregations.map((a) => a.windowSeconds));
  const created = view.createdColumn
    ? q(view.createdColumn)
    : `CAST(NULL AS ${dialect.sqlType('timestamp')})`;
  const value = (column: string) => q(`fstore_c_${column}`);
  const exact = exactSums(view, dialect);
  const sourceRows = [
    `    SELECT ${keys.join(', ')}, ${dialect.epochMicros(q(view.timestampColumn))} AS fstore_t, 0 AS fstore_kind,`,
    `      ${dialect.epochMicros(created)} AS fstore_created, fstore_seq, CAST(NULL AS BIGINT) AS fstore_row_id,`,
    `      ${columns.map((c) => `${q(c)} AS ${value(c)}`).join(', ')}`,
    `    FROM ${viewSourceRelation(view, dialect)}`,
    `    WHERE ${sourceFilter(view, dialect, options, widest)}`,
  ];
  const entityRows = [
    `    SELECT ${keys.join(', ')}, ${dialect.epochMicros(q(options.entityTimestampColumn))}, 1, CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), fstore_row_id,`,
    `      ${columns.map((c) => `CAST(NULL AS ${dialect.sqlType(columnTypes.get(c) ?? 'string')})`).join(', ')}`,
    `    FROM ${options.entityRelation}`,
  ];
  const partition = `PARTITION BY ${keys.join(', ')}`;
  const range = (seconds: number) =>
    `${partition} ORDER BY fstore_t RANGE BETWEEN ${seconds * 1_000_000 - 1} PRECEDING AND CURRENT ROW`;
  // Ties at one time: source rows before entity rows (inclusive upper edge), then the winner rule.
  const rows = `${partition} ORDER BY fstore_t, fstore_kind, fstore_created NULLS FIRST, fstore_seq NULLS FIRST ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW`;
  // A sum and an avg of one column and window share their exact parts: listed once.
  const windowed = new Set(
    aggregations.flatMap((a, index) =>
      exact.columns.includes(a.column) && isExactSum(a)
        ? exactSumParts(a, dialect, '').map(
            ({ call, name }) => `${call} OVER (${range(a.windowSeconds)}) AS ${name}`,
          )
        : windowExpressions(a, index, dialect, value(a.column), range(a.windowSeconds), rows),
    ),
  );
  const features = aggregations.map(
    (a, index) =>
      `${
        exact.columns.includes(a.column) && isExactSum(a)
          ? exactSumFinal(a, dialect)
          : finalExpression(a, index, dialect)
      } AS ${q(a.outputName)}`,
  );
  const carried = options.withKeys ? keys.map((k) => `${k}, `).join('') : '';
  return [
    `  SELECT ${carried}fstore_row_id, ${features.join(', ')},`,
    `    fstore_match_count > 0 AS fstore_match`,
    '  FROM (',
    `  SELECT ${carried}fstore_kind, fstore_row_id, fstore_t, ${[...exact.scales, ...windowed].join(',\n    ')},`,
    `    sum(1 - fstore_kind) OVER (${range(widest)}) AS fstore_match_count`,
    '  FROM (',
    ...exact.withScales([...sourceRows, '    UNION ALL', ...entityRows]),
    '  ) fstore_merged',
    '  ) fstore_windowed',
    '  WHERE fstore_kind = 1',
  ].join('\n');
}

const isExactSum = (a: PlannedAggregation) =>
  isFloatType(a.columnType) && (a.function === 'sum' || a.function === 'avg');

interface ExactSums {
  /** Float columns summed or averaged: their sums are exact when their scale allows. */
  readonly columns: readonly string[];
  /** `"fstore_e_<column>"` of each such column, to carry to the final expressions. */
  readonly scales: readonly string[];
  /**
   * Wraps the lines of a relation holding the join keys and `"fstore_c_<column>"` so each row
   * also has `"fstore_e_<column>"` and `"fstore_x_<column>"` (the lines unchanged without such
   * columns).
   */
  readonly withScales: (rows: readonly string[]) => string[];
}

/**
 * The exact-sum scaffolding of a query (see exact-sum.ts). Each row carries the scale of its
 * entity's rows (a window over the join keys, so Athena reads the source once and keeps the
 * work spread over entities) and its value as a scaled integer at that scale. Every sum is of
 * one entity's rows, so any scale that makes them exact integers gives the same correctly
 * rounded sum: an entity's scale equals one computed over all rows read whenever that one is
 * exact, and is exact more often.
 */
function exactSums(view: PlannedView, dialect: Dialect): ExactSums {
  const q = dialect.quote;
  const columns = [
    ...new Set((view.aggregations ?? []).filter(isExactSum).map((a) => a.column)),
  ].sort();
  if (columns.length === 0) return { columns, scales: [], withScales: (rows) => [...rows] };
  const entity = `PARTITION BY ${view.joinKeys.map((k) => q(k.name)).join(', ')}`;
  const asDouble = (c: string) => `CAST(${q(`fstore_c_${c}`)} AS DOUBLE)`;
  const scaled = columns.map(
    (c) =>
      `CASE WHEN ${scale(c, dialect)} IS NOT NULL THEN ${scaledInteger(asDouble(c), scale(c, dialect), dialect)} END AS ${q(`fstore_x_${c}`)}`,
  );
  return {
    columns,
    scales: columns.map((c) => scale(c, dialect)),
    withScales: (rows) => [
      `    SELECT fstore_scaled.*, ${scaled.join(', ')}`,
      '    FROM (',
      `    SELECT fstore_rows.*, ${columns.map((c) => exactSumScale(asDouble(c), scale(c, dialect), entity)).join(',\n      ')}`,
      '    FROM (',
      ...rows,
      '    ) fstore_rows',
      '    ) fstore_scaled',
    ],
  };
}

const scale = (column: string, dialect: Dialect) => dialect.quote(`fstore_e_${column}`);

/**
 * Name of a part of the exact sum of `a`'s column over `a`'s window: a sum and an avg of the
 * same column and window read the same parts.
 */
const exactPart = (a: PlannedAggregation, dialect: Dialect) => (suffix: string) =>
  dialect.quote(`fstore_s_${a.windowSeconds}_${suffix}_${a.column}`);

/**
 * The aggregates an exact float sum or avg needs (to be framed by OVER or FILTER): the exact
 * scaled sum, the double sum (when the column's values do not fit) and the count.
 */
function exactSumParts(
  a: PlannedAggregation,
  dialect: Dialect,
  prefix: string,
): { call: string; name: string }[] {
  const name = exactPart(a, dialect);
  const column = (c: string) => `${prefix}${dialect.quote(c)}`;
  return [
    { call: `sum(${column(`fstore_x_${a.column}`)})`, name: name('x') },
    { call: `sum(CAST(${column(`fstore_c_${a.column}`)} AS DOUBLE))`, name: name('v') },
    { call: `count(${column(`fstore_c_${a.column}`)})`, name: name('n') },
  ];
}

/**
 * An exact float sum or avg from exactSumParts: the exact sum rounded once to a double, or the
 * double sum when the column's values did not fit; avg divides by the count. Every rendering
 * (and online materialization) computes exactly this, so they agree bit for bit.
 */
function exactSumFinal(a: PlannedAggregation, dialect: Dialect): string {
  const name = exactPart(a, dialect);
  const e = scale(a.column, dialect);
  const total = `CASE WHEN ${e} IS NOT NULL THEN ${roundedSum(name('x'), e, dialect)} ELSE ${name('v')} END`;
  const value = a.function === 'sum' ? total : `(${total}) / ${name('n')}`;
  return `CAST(CASE WHEN ${name('n')} > 0 THEN ${value} END AS ${dialect.sqlType(a.type)})`;
}

function windowExpressions(
  a: PlannedAggregation,
  index: number,
  dialect: Dialect,
  column: string,
  range: string,
  rows: string,
): string[] {
  const name = (suffix: string) => dialect.quote(`fstore_a${index}_${suffix}`);
  const present = `CASE WHEN ${column} IS NOT NULL THEN fstore_t END`;
  switch (a.function) {
    case 'count':
      return [`count(${column}) OVER (${range}) AS ${name('v')}`];
    case 'count_distinct':
      return [`${dialect.countDistinctOver(column, range)} AS ${name('v')}`];
    case 'sum':
    case 'min':
    case 'max':
      return [`${a.function}(${column}) OVER (${range}) AS ${name('v')}`];
    case 'avg':
      return [`avg(CAST(${column} AS DOUBLE)) OVER (${range}) AS ${name('v')}`];
    case 'days_since_last':
      return [`max(${present}) OVER (${range}) AS ${name('t')}`];
    case 'last':
      return [
        `${dialect.lastValueIgnoringNulls(column, rows)} AS ${name('v')}`,
        `${dialect.lastValueIgnoringNulls(present, rows)} AS ${name('t')}`,
      ];
  }
}

function finalExpression(a: PlannedAggregation, index: number, dialect: Dialect): string {
  const name = (suffix: string) => dialect.quote(`fstore_a${index}_${suffix}`);
  const type = dialect.sqlType(a.type);
  switch (a.function) {
    case 'days_since_last':
      return `CAST((fstore_t - ${name('t')}) AS DOUBLE) / 86400000000.0`;
    case 'last':
      return `CASE WHEN ${name('t')} > fstore_t - ${a.windowSeconds * 1_000_000} THEN ${name('v')} END`;
    default:
      return `CAST(${name('v')} AS ${type})`;
  }
}

/** Source partitions a window can reach: from the earliest entity time minus the widest window. */
function sourceFilter(
  view: PlannedView,
  dialect: Dialect,
  options: AggregationRenderOptions,
  widestSeconds: number,
): string {
  if (!options.entityTimeRange) return 'TRUE';
  // Microseconds throughout: a bound rounded to milliseconds drops rows of the same millisecond.
  const min = minusSeconds(epochMicrosOf(options.entityTimeRange.min), widestSeconds);
  const max = epochMicrosOf(options.entityTimeRange.max);
  const ts = dialect.quote(view.timestampColumn);
  return [
    `${dialect.quote('dt')} >= ${dialect.literal(partitionDay(min))}`,
    `${dialect.quote('dt')} <= ${dialect.literal(partitionDay(max))}`,
    `${ts} > ${dialect.timestampLiteral(formatMicros(min))}`,
    `${ts} <= ${dialect.timestampLiteral(formatMicros(max))}`,
  ].join(' AND ');
}

/**
 * The aggregates of an aggregation view as of `window.until`, for every entity whose value can
 * have changed since `window.after`: any entity with a row in `(after - widest window, until]`
 * (new rows, and old rows that have just left a window, so values decay). One row per entity
 * with the join keys, the features, `event_ts` = `until` (the time of the aggregate) and NULL
 * `created_ts` / `fstore_seq`. Materialization writes these rows to the online store.
 */
export function renderAggregatesAt(
  view: PlannedView,
  dialect: Dialect,
  window: { readonly after?: string; readonly from?: string; readonly until: string },
  options: { readonly orderByKey?: boolean; readonly afterKey?: readonly (string | number)[] } = {},
): string {
  const q = dialect.quote;
  const widest = Math.max(...(view.aggregations ?? []).map((a) => a.windowSeconds));
  const lowerBound = window.after ?? window.from;
  const ts = q(view.timestampColumn);
  const lower = lowerBound
    ? formatMicros(minusSeconds(epochMicrosOf(lowerBound), widest))
    : undefined;
  const changed = [
    ...(lower
      ? [
          `${ts} > ${dialect.timestampLiteral(lower)}`,
          `${q('dt')} >= ${dialect.literal(partitionDay(lower))}`,
        ]
      : []),
    `${ts} <= ${dialect.timestampLiteral(window.until)}`,
    `${q('dt')} <= ${dialect.literal(partitionDay(window.until))}`,
    ...(options.afterKey ? [keysAfter(view.joinKeys, options.afterKey, dialect)] : []),
  ];
  return renderAggregatesOfEntities(view, dialect, {
    where: changed.join(' AND '),
    until: window.until,
    orderByKey: options.orderByKey === true,
  });
}

/**
 * The aggregates at `until` of the distinct entities of the view's source rows that match
 * `where`, in renderAggregatesAt's row shape. The aggregation carries the entities' keys, so
 * the entities (a read of the source) are read once: Trino evaluates a CTE once per reference.
 * They are numbered in key order all the same, so that no second reading could pair an entity
 * with another's aggregates.
 */
export function renderAggregatesOfEntities(
  view: PlannedView,
  dialect: Dialect,
  entities: { readonly where: string; readonly until: string; readonly orderByKey: boolean },
): string {
  const q = dialect.quote;
  const keys = view.joinKeys.map((k) => q(k.name));
  const at = dialect.timestampLiteral(entities.until);
  const numbered = [
    `SELECT ${keys.join(', ')}, ${at} AS fstore_at, row_number() OVER (ORDER BY ${keys.join(', ')}) AS fstore_row_id FROM (`,
    `  SELECT DISTINCT ${keys.join(', ')} FROM ${viewSourceRelation(view, dialect)}`,
    `  WHERE ${entities.where}`,
    ') fstore_changed',
  ].join('\n');
  const aggregates = renderAggregationView(view, dialect, {
    entityRelation: 'fstore_entities',
    entityTimestampColumn: 'fstore_at',
    entityTimeRange: { min: entities.until, max: entities.until },
    withKeys: true,
  });
  return [
    `WITH fstore_entities AS (\n${numbered}\n),`,
    `fstore_aggregates AS (\n${aggregates}\n)`,
    `SELECT ${[
      ...keys.map((k) => `a.${k}`),
      ...view.features.map((f) => `a.${q(f.outputName)}`),
      `${at} AS event_ts`,
      `CAST(NULL AS ${dialect.sqlType('timestamp')}) AS created_ts`,
      'CAST(NULL AS BIGINT) AS fstore_seq',
    ].join(', ')}`,
    'FROM fstore_aggregates a',
    ...(entities.orderByKey ? [`ORDER BY ${keys.map((k) => `a.${k}`).join(', ')}`] : []),
  ].join('\n');
}

/**
 * The same contract as renderAggregationView, as a join: each entity row meets its entity's
 * rows of the widest window and every feature is an aggregate with a FILTER for its own window.
 * On DuckDB this range join is about twice as fast as the one-sort window formulation when
 * entities have tens to hundreds of rows per window; Athena keeps the window formulation.
 */
export function renderAggregationJoin(
  view: PlannedView,
  dialect: Dialect,
  options: AggregationRenderOptions,
): string {
  const aggregations = view.aggregations ?? [];
  if (aggregations.length === 0) throw new Error(`view ${view.view} has no aggregations`);
  const q = dialect.quote;
  const keys = view.joinKeys.map((k) => q(k.name));
  const columns = [...new Set(aggregations.map((a) => a.column))];
  const widest = Math.max(...aggregations.map((a) => a.windowSeconds));
  const micros = (seconds: number) => seconds * 1_000_000;
  const created = view.createdColumn
    ? `coalesce(${dialect.epochMicros(q(view.createdColumn))}, -9223372036854775807)`
    : '-9223372036854775807';
  const exact = exactSums(view, dialect);
  const source = exact
    .withScales([
      `SELECT ${keys.join(', ')}, ${dialect.epochMicros(q(view.timestampColumn))} AS fstore_t, ${created} AS fstore_created, fstore_seq,`,
      `  ${columns.map((c) => `${q(c)} AS ${q(`fstore_c_${c}`)}`).join(', ')}`,
      `FROM ${viewSourceRelation(view, dialect)}`,
      `WHERE ${sourceFilter(view, dialect, options, widest)}`,
    ])
    .join('\n');
  const aggregates = aggregations.map((a) => {
    const column = `s.${q(`fstore_c_${a.column}`)}`;
    const inWindow = `s.fstore_t > e.fstore_e_t - ${micros(a.windowSeconds)}`;
    if (exact.columns.includes(a.column) && isExactSum(a))
      return exactSumParts(a, dialect, 's.')
        .map(({ call, name }) => `${call} FILTER (WHERE ${inWindow}) AS ${name}`)
        .join(', ');
    const present = `${inWindow} AND ${column} IS NOT NULL`;
    const type = dialect.sqlType(a.type);
    const expression = {
      count: `count(${column}) FILTER (WHERE ${inWindow})`,
      count_distinct: `count(DISTINCT ${column}) FILTER (WHERE ${inWindow})`,
      sum: `sum(${column}) FILTER (WHERE ${inWindow})`,
      min: `min(${column}) FILTER (WHERE ${inWindow})`,
      max: `max(${column}) FILTER (WHERE ${inWindow})`,
      avg: `avg(CAST(${column} AS DOUBLE)) FILTER (WHERE ${inWindow})`,
      last: `arg_max(${column}, struct_pack(t := s.fstore_t, c := s.fstore_created, s := s.fstore_seq)) FILTER (WHERE ${present})`,
      days_since_last: `CAST(any_value(e.fstore_e_t) - max(s.fstore_t) FILTER (WHERE ${present}) AS DOUBLE) / 86400000000.0`,
    }[a.function];
    return `CAST(${expression} AS ${type}) AS ${q(a.outputName)}`;
  });
  // A sum and an avg of one column and window share their exact parts: listed once. An
  // entity's rows share one scale.
  const features = [...new Set(aggregates), ...exact.scales.map((e) => `max(s.${e}) AS ${e}`)];
  const on = [
    ...view.joinKeys.map((k) => `s.${q(k.name)} = e.${q(k.name)}`),
    's.fstore_t <= e.fstore_e_t',
    `s.fstore_t > e.fstore_e_t - ${micros(widest)}`,
  ];
  const joined = [
    `  SELECT e.fstore_row_id, ${features.join(',\n    ')},`,
    '    count(s.fstore_t) > 0 AS fstore_match',
    `  FROM (SELECT ${keys.join(', ')}, fstore_row_id, ${dialect.epochMicros(q(options.entityTimestampColumn))} AS fstore_e_t FROM ${options.entityRelation}) e`,
    `  LEFT JOIN (\n${source}\n  ) s ON ${on.join(' AND ')}`,
    '  GROUP BY e.fstore_row_id',
  ];
  if (exact.columns.length === 0) return joined.join('\n');
  // Exact sums are rounded from their parts outside the group by.
  const finals = aggregations.map(
    (a) =>
      `${exact.columns.includes(a.column) && isExactSum(a) ? exactSumFinal(a, dialect) : q(a.outputName)} AS ${q(a.outputName)}`,
  );
  return [
    `  SELECT fstore_row_id, ${finals.join(',\n    ')}, fstore_match`,
    `  FROM (\n${joined.join('\n')}\n  ) fstore_joined`,
  ].join('\n');
}
