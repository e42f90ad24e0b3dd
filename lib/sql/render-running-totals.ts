import type { AggregationFunction, ValueType } from '../definitions/index.ts';
import type { Dialect } from './dialect.ts';
import {
  chooseExactScale,
  exactScaleStatistics,
  isFloatType,
  roundedSum,
  scaledInteger,
} from './exact-sum.ts';
import type { PlannedAggregation, PlannedView } from './point-in-time-plan.ts';
import {
  lastTimeColumn,
  renderBucketJoin,
  renderProbeBucket,
  type TimeBuckets,
  widthColumn,
} from './render-running-totals-buckets.ts';
import { keyIdColumn } from './render-running-totals-key-ids.ts';
import { viewSourceRelation } from './view-source.ts';

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
  readonly type: ValueType;
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
      type: a.columnType,
      count: false,
      sum: false,
      latest: false,
    };
    columns.set(a.column, {
      ...was,
      count: was.count || isSubtracted(a),
      sum: was.sum || a.function === 'sum' || a.function === 'avg',
      latest: was.latest || !isSubtracted(a),
    });
  }
  return [...columns.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** The stored totals one aggregation reads (a sum also needs the count, for empty windows). */
function storedTotals(a: PlannedAggregation): string[] {
  if (!isSubtracted(a)) return [names.lastValue(a.column), names.lastTime(a.column)];
  return [names.count(a.column), ...(a.function === 'count' ? [] : [names.sum(a.column)])];
}

function isSubtracted(a: PlannedAggregation): boolean {
  return a.function === 'count' || a.function === 'sum' || a.function === 'avg';
}

/** What identifies a view's running totals: same spec, same stored rows, same totals. */
export function runningTotalsSpec(view: PlannedView): Record<string, unknown> {
  return {
    format: 4,
    source: view.source,
    keys: view.joinKeys.map((k) => k.name),
    timestamp: view.timestampColumn,
    created: view.createdColumn ?? null,
    columns: coveredColumns(view),
    // Totals count only the rows the source's filter keeps; absent keeps older specs' hashes.
    ...(view.rowFilter ? { rowFilter: view.rowFilter } : {}),
  };
}

const names = {
  count: (column: string) => `fstore_count_${column}`,
  sum: (column: string) => `fstore_sum_${column}`,
  lastValue: (column: string) => `fstore_last_${column}`,
  lastTime: (column: string) => `fstore_last_t_${column}`,
};

/** The totals columns of a view's build by how they combine, named as the build names them. */
export interface TotalsColumns {
  /** Running row counts, value counts and sums, in the build's order. */
  readonly additive: readonly string[];
  /** Latest non-NULL value and its time, per column that keeps them. */
  readonly latest: readonly { readonly value: string; readonly time: string }[];
}

export function totalsColumns(view: PlannedView): TotalsColumns {
  const columns = coveredColumns(view);
  return {
    additive: [
      'fstore_rows',
      ...columns.flatMap((c) => [
        ...(c.count ? [names.count(c.name)] : []),
        ...(c.sum ? [names.sum(c.name)] : []),
      ]),
    ],
    latest: columns
      .filter((c) => c.latest)
      .map((c) => ({ value: names.lastValue(c.name), time: names.lastTime(c.name) })),
  };
}

const isInteger = (type: ValueType) => type === 'int32' || type === 'int64';

/**
 * One row of statistics per summed float column (`"<column>@lo"`, `@abs`, `@bad`) from
 * which chooseSumScales picks the scale that makes its running sums exact integers.
 */
export function renderSumScalesQuery(view: PlannedView, dialect: Dialect): string | undefined {
  const statistics = sumScaleStatistics(view, dialect);
  if (statistics.length === 0) return undefined;
  return `SELECT ${statistics.join(', ')} FROM ${viewSourceRelation(view, dialect)}`;
}

/** The summed float columns' statistics of renderSumScalesQuery, as a select list (or none). */
export function sumScaleStatistics(view: PlannedView, dialect: Dialect): string[] {
  const q = dialect.quote;
  return summedFloatColumns(view).flatMap((name) =>
    exactScaleStatistics(`CAST(${q(name)} AS DOUBLE)`, (part) => q(`${name}@${part}`)),
  );
}

/** The float columns whose running sums may be kept exact (see chooseSumScales). */
export function summedFloatColumns(view: PlannedView): string[] {
  return coveredColumns(view)
    .filter((c) => c.sum && isFloatType(c.type))
    .map((c) => c.name);
}

/**
 * Per summed float column, the binary scale E its running sum is kept at as an exact
 * DECIMAL(38, 0) integer (values times 2^-E, see exact-sum.ts), or nothing when its values'
 * span or count does not fit: then the running sum is a DOUBLE and window sums are not exact.
 */
export function chooseSumScales(
  view: PlannedView,
  checks: Readonly<Record<string, unknown>>,
): Map<string, number> {
  const scales = new Map<string, number>();
  const number = (value: unknown) => (value === null || value === undefined ? null : Number(value));
  for (const { name, type, sum } of coveredColumns(view)) {
    if (!sum || !isFloatType(type) || !(`${name}@abs` in checks)) continue;
    const scale = chooseExactScale({
      lowest: number(checks[`${name}@lo`]),
      magnitude: number(checks[`${name}@abs`]),
      nonFinite: Number(checks[`${name}@bad`] ?? 1),
    });
    if (scale !== undefined) scales.set(name, scale);
  }
  return scales;
}

/**
 * Running totals of a view's source: one row per join key and distinct event time (in
 * microseconds, `fstore_t`) holding, over every row of that key up to and including that time,
 * the row count `fstore_rows` and per covered column the count of non-NULL values, their sum
 * (numeric columns), the latest non-NULL value by the winner rule and its time. Built once per
 * change of the stored rows; training sets then look totals up instead of joining each entity
 * row to its window's rows.
 */
export function renderRunningTotalsBuild(
  view: PlannedView,
  dialect: Dialect,
  sumScales: ReadonlyMap<string, number> = new Map(),
  keyIds?: string,
): string {
  const q = dialect.quote;
  const keys = view.joinKeys.map((k) => q(k.name));
  const columns = coveredColumns(view);
  if (columns.length === 0) throw new Error(`view ${view.view} has nothing running totals answer`);
  const created = view.createdColumn ? q(view.createdColumn) : 'CAST(NULL AS BIGINT)';
  // With key ids (renderKeyIds over the same rows), rows are partitioned by the integer id,
  // which sorts cheaper than the keys, and each totals row carries its key's id, last.
  const partition = keyIds ? keyIdColumn : keys.join(', ');
  const order = `PARTITION BY ${partition} ORDER BY fstore_t, fstore_created NULLS FIRST, fstore_seq NULLS FIRST`;
  const upToRow = `${order} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW`;
  const runningSum = (name: string, type: ValueType): string[] => {
    const column = q(name);
    const scale = sumScales.get(name);
    if (scale === undefined)
      return [
        `sum(${isInteger(type) ? column : `CAST(${column} AS DOUBLE)`}) OVER (${upToRow}) AS ${q(names.sum(name))}`,
      ];
    return [
      `sum(${scaledInteger(`CAST(${column} AS DOUBLE)`, String(scale), dialect)}) OVER (${upToRow}) AS ${q(names.sum(name))}`,
    ];
  };
  const totals = columns.flatMap(({ name, type, count, sum, latest }) => {
    const column = q(name);
    return [
      ...(count ? [`count(${column}) OVER (${upToRow}) AS ${q(names.count(name))}`] : []),
      ...(sum ? runningSum(name, type) : []),
      ...(latest
        ? [
            `${dialect.lastValueIgnoringNulls(column, upToRow)} AS ${q(names.lastValue(name))}`,
            `max(CASE WHEN ${column} IS NOT NULL THEN fstore_t END) OVER (${upToRow}) AS ${q(names.lastTime(name))}`,
          ]
        : []),
    ];
  });
  const source = (column: string) => (keyIds ? `fstore_s.${column}` : column);
  const sameKey = keys.map((k) => `fstore_s.${k} IS NOT DISTINCT FROM fstore_i.${k}`).join(' AND ');
  return [
    `SELECT ${keys.join(', ')}, fstore_t, count(*) OVER (${upToRow}) AS fstore_rows,`,
    `  ${totals.join(',\n  ')}${keyIds ? `,\n  ${keyIdColumn}` : ''}`,
    'FROM (',
    `  SELECT ${keys.map(source).join(', ')}, ${dialect.epochMicros(source(q(view.timestampColumn)))} AS fstore_t, ${view.createdColumn ? source(created) : created} AS fstore_created, ${source('fstore_seq')},`,
    `    ${columns.map((c) => source(q(c.name))).join(', ')}${keyIds ? `, fstore_i.${keyIdColumn}` : ''}`,
    `  FROM ${viewSourceRelation(view, dialect)}${keyIds ? ` fstore_s JOIN ${keyIds} fstore_i ON ${sameKey}` : ''}`,
    ') fstore_source',
    // Keep the last row of each event time: its totals include every row at that time.
    `QUALIFY lead(fstore_t) OVER (${order}) IS DISTINCT FROM fstore_t`,
  ].join('\n');
}

/** Stored running totals: where to read them and how their sums were scaled. */
export interface RunningTotalsSource {
  /** Totals rows: join keys, `fstore_key_id`, `fstore_t` and the totals. */
  readonly relation: string;
  /** The key-id dictionary: join keys and `fstore_key_id`, one row a key (key-ids renderer). */
  readonly keyIds: string;
  /** Binary scale per summed float column kept as exact integers (chooseSumScales). */
  readonly sumScales: ReadonlyMap<string, number>;
  /** The same totals repeated per time bucket, looked up by a hash join instead of ASOF. */
  readonly buckets?: TimeBuckets;
}

export interface RunningTotalsRenderOptions {
  /** Relation of entity rows: the view's join keys, the timestamp column and `fstore_row_id`. */
  readonly entityRelation: string;
  readonly entityTimestampColumn: string;
  readonly runningTotals: RunningTotalsSource;
}

/**
 * The aggregates answered by running totals (see answeredByRunningTotals) for every entity
 * row: each entity row probes the totals at t and at t - W for each window with one join
 * (DuckDB), and a window is the difference. The join is a hash join on (key id, time bucket)
 * when the totals come with time buckets (render-running-totals-buckets.ts), else an ASOF join. Probe `i` of entity row `r` is numbered
 * `r * edges + i`, so one group by puts an entity row's lookups back together. Same contract
 * as renderAggregationJoin for those features: `fstore_row_id`, one column per feature,
 * `fstore_match`.
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
  const widest = Math.max(...(view.aggregations ?? []).map((a) => a.windowSeconds));
  const subtracted = aggregations.filter(isSubtracted);
  const edges = [...new Set([0, widest, ...subtracted.map((a) => a.windowSeconds)])].sort(
    (a, b) => a - b,
  );
  const edge = (seconds: number) => `p.fstore_probe % ${edges.length} = ${edges.indexOf(seconds)}`;
  const totalAt = (name: string, seconds: number) =>
    `coalesce(any_value(r.${q(name)}) FILTER (WHERE ${edge(seconds)}), 0)`;
  const inWindow = (name: string, seconds: number) => q(`${name}@${seconds}`);
  const windowTotals = new Map<string, string>([
    [
      inWindow('fstore_rows', widest),
      `${totalAt('fstore_rows', 0)} - ${totalAt('fstore_rows', widest)}`,
    ],
  ]);
  const latest = new Map<string, string>();
  for (const a of aggregations)
    for (const name of storedTotals(a))
      if (isSubtracted(a))
        windowTotals.set(
          inWindow(name, a.windowSeconds),
          `${totalAt(name, 0)} - ${totalAt(name, a.windowSeconds)}`,
        );
      else latest.set(q(name), `any_value(r.${q(name)}) FILTER (WHERE ${edge(0)})`);
  const stored = ['fstore_rows', ...new Set(aggregations.flatMap(storedTotals))];
  // Scaled float window sums are exact integers, rounded once to the nearest double
  // (exact-sum.ts) in a layer of their own, so a window's sum and avg share one rounding.
  const scaleOfWindowSum = new Map<string, number>();
  for (const a of aggregations) {
    const scale = options.runningTotals.sumScales.get(a.column);
    if (
      (a.function === 'sum' || a.function === 'avg') &&
      isFloatType(a.columnType) &&
      scale !== undefined
    )
      scaleOfWindowSum.set(inWindow(names.sum(a.column), a.windowSeconds), scale);
  }
  const windows = [
    'fstore_row_id',
    'fstore_e_t',
    ...[...windowTotals.keys()].map((name) => {
      const scale = scaleOfWindowSum.get(name);
      return scale === undefined ? name : `${roundedSum(name, String(scale), dialect)} AS ${name}`;
    }),
    ...latest.keys(),
  ];
  const features = aggregations.map((a) => {
    const value = windowValue(a, {
      count: inWindow(names.count(a.column), a.windowSeconds),
      sum: inWindow(names.sum(a.column), a.windowSeconds),
      lastValue: q(names.lastValue(a.column)),
      lastTime: q(names.lastTime(a.column)),
    });
    return `CAST(${value} AS ${dialect.sqlType(a.type)}) AS ${q(a.outputName)}`;
  });
  const pivot = [
    `p.fstore_probe // ${edges.length} AS fstore_row_id`,
    `any_value(p.fstore_x) FILTER (WHERE ${edge(0)}) AS fstore_e_t`,
    ...[...windowTotals, ...latest].map(([name, expression]) => `${expression} AS ${name}`),
  ];
  const micros = (seconds: number) => seconds * 1_000_000;
  const { buckets } = options.runningTotals;
  const lookup = buckets
    ? renderBucketJoin(buckets, stored, dialect).trimStart()
    : [
        `ASOF LEFT JOIN (SELECT ${keyIdColumn}, fstore_t, ${stored.map(q).join(', ')} FROM ${options.runningTotals.relation}) r`,
        `        ON r.${keyIdColumn} = p.${keyIdColumn} AND r.fstore_t <= p.fstore_x`,
      ].join('\n');
  return [
    `  SELECT fstore_row_id, ${features.join(',\n    ')},`,
    `    ${inWindow('fstore_rows', widest)} > 0 AS fstore_match`,
    '  FROM (',
    `    SELECT ${windows.join(',\n      ')}`,
    '    FROM (',
    `      SELECT ${pivot.join(',\n        ')}`,
    '      FROM (',
    `        SELECT e.${keyIdColumn}, e.fstore_row_id * ${edges.length} + b.fstore_edge AS fstore_probe, e.fstore_e_t - b.fstore_back AS fstore_x${buckets ? `, ${renderProbeBucket('e', 'e.fstore_e_t - b.fstore_back')}` : ''}`,
    // Entity rows get their key's id (and with buckets its width and last time) by a hash join
    // (= on the keys: a NULL key matches none); a key without totals gets none, and its probes
    // find nothing, as with the keys themselves.
    `        FROM (SELECT fstore_i.${keyIdColumn}, ${buckets ? `fstore_i.${lastTimeColumn}, fstore_i.${widthColumn}, ` : ''}fstore_en.fstore_row_id, ${dialect.epochMicros(`fstore_en.${q(options.entityTimestampColumn)}`)} AS fstore_e_t`,
    `          FROM ${options.entityRelation} fstore_en LEFT JOIN ${buckets ? buckets.keys : options.runningTotals.keyIds} fstore_i ON ${keys.map((k) => `fstore_i.${k} = fstore_en.${k}`).join(' AND ')}) e`,
    `        CROSS JOIN (VALUES ${edges.map((seconds, i) => `(${i}, ${micros(seconds)})`).join(', ')}) b(fstore_edge, fstore_back)`,
    '      ) p',
    `      ${lookup}`,
    `      GROUP BY p.fstore_probe // ${edges.length}`,
    '    ) fstore_totals',
    '  ) fstore_windows',
  ].join('\n');
}

/**
 * One feature from its window's totals (count, sum) or the newest value at t (last, recency).
 * `sum` is an integer for integer columns and a double for float columns (already rounded when
 * it was exact).
 */
function windowValue(
  a: PlannedAggregation,
  sql: { count: string; sum: string; lastValue: string; lastTime: string },
): string {
  const fresh = `${sql.lastTime} > fstore_e_t - ${a.windowSeconds * 1_000_000}`;
  switch (a.function) {
    case 'count':
      return sql.count;
    case 'sum':
      return `CASE WHEN ${sql.count} > 0 THEN ${sql.sum} END`;
    case 'avg':
      return `CASE WHEN ${sql.count} > 0 THEN CAST(${sql.sum} AS DOUBLE) / ${sql.count} END`;
    case 'last':
      return `CASE WHEN ${fresh} THEN ${sql.lastValue} END`;
    case 'days_since_last':
      return `CASE WHEN ${fresh} THEN CAST(fstore_e_t - ${sql.lastTime} AS DOUBLE) / 86400000000.0 END`;
    default:
      throw new Error(`running totals cannot answer ${a.function}`);
  }
}
