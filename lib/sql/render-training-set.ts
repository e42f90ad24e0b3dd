import type { Dialect } from './dialect.ts';
import type { PlannedView, PointInTimePlan } from './point-in-time-plan.ts';
import {
  type AggregationRenderOptions,
  renderAggregationJoin,
  renderAggregationView,
} from './render-aggregation.ts';
import { type PointInTimeRenderOptions, renderPointInTime } from './render-point-in-time.ts';
import { renderPointInTimeAsof } from './render-point-in-time-asof.ts';
import {
  answeredByRunningTotals,
  type RunningTotalsSource,
  renderAggregationFromRunningTotals,
} from './render-running-totals.ts';

/** How the point-in-time join is written: `merge-window` runs everywhere, `asof` on DuckDB only. */
export type PointInTimeStrategy = 'asof' | 'merge-window';

/**
 * The point-in-time SQL for `dialect`, with the engine's fastest strategy unless one is named.
 * Aggregation views are computed by their own query each (a range join on DuckDB's `asof`
 * strategy, one-sort windows otherwise) and joined on `fstore_row_id`;
 * the result has the entity columns, the features in request order and, with `matchFlags`,
 * `fstore_match_<i>` per view of the plan.
 */
export function renderTrainingSetSql(
  plan: PointInTimePlan,
  dialect: Dialect,
  options: PointInTimeRenderOptions & {
    strategy?: PointInTimeStrategy;
    /** Per aggregation view, its stored running totals (DuckDB `asof` only). */
    runningTotals?: ReadonlyMap<string, RunningTotalsSource>;
  },
): string {
  const strategy = options.strategy ?? (dialect.name === 'duckdb' ? 'asof' : 'merge-window');
  const render = (p: PointInTimePlan, o: PointInTimeRenderOptions) =>
    strategy === 'asof' ? renderPointInTimeAsof(p, dialect, o) : renderPointInTime(p, dialect, o);
  if (!plan.views.some((v) => v.aggregations)) return render(plan, options);

  const q = dialect.quote;
  const passthrough = plan.views.filter((v) => !v.aggregations);
  const passthroughPlan: PointInTimePlan = {
    ...plan,
    views: passthrough,
    outputNames: passthrough.flatMap((v) => v.features.map((f) => f.outputName)),
  };
  const baseColumns = options.entityColumns.includes('fstore_row_id')
    ? options.entityColumns
    : [...options.entityColumns, 'fstore_row_id'];
  const { entityQuery: _hoisted, ...baseOptions } = options;
  const base =
    passthrough.length > 0
      ? render(passthroughPlan, { ...baseOptions, entityColumns: baseColumns })
      : `SELECT ${baseColumns.map(q).join(', ')} FROM ${options.entityRelation}`;
  const ctes = [
    ...(options.entityQuery ? [`${options.entityRelation} AS (\n${options.entityQuery}\n)`] : []),
    `fstore_base AS (\n${base}\n)`,
    ...plan.views.flatMap((view, index) =>
      view.aggregations
        ? [
            `${q(`fstore_a${index}`)} AS (\n${renderAggregates(view, dialect, {
              strategy,
              entityRelation: options.entityRelation,
              entityTimestampColumn: plan.entityTimestampColumn,
              ...(options.entityTimeRange ? { entityTimeRange: options.entityTimeRange } : {}),
              runningTotals:
                strategy === 'asof' ? options.runningTotals?.get(view.view) : undefined,
            })}\n)`,
          ]
        : [],
    ),
  ];
  const passthroughIndex = new Map(passthrough.map((v, i) => [v.view, i]));
  const features = plan.views.flatMap((view, index) =>
    view.features.map((f) => ({
      name: f.outputName,
      expression: view.aggregations
        ? `${q(`a${index}`)}.${q(f.outputName)}`
        : `b.${q(f.outputName)}`,
    })),
  );
  const ordered = plan.outputNames.map(
    (name) => features.find((f) => f.name === name)?.expression ?? `b.${q(name)}`,
  );
  const matches = options.matchFlags
    ? plan.views.map((view, index) =>
        view.aggregations
          ? `COALESCE(${q(`a${index}`)}.fstore_match, FALSE) AS ${q(`fstore_match_${index}`)}`
          : `b.${q(`fstore_match_${passthroughIndex.get(view.view)}`)} AS ${q(`fstore_match_${index}`)}`,
      )
    : [];
  const joins = plan.views.flatMap((view, index) =>
    view.aggregations
      ? [
          `LEFT JOIN ${q(`fstore_a${index}`)} ${q(`a${index}`)} ON ${q(`a${index}`)}.fstore_row_id = b.fstore_row_id`,
        ]
      : [],
  );
  return [
    `WITH ${ctes.join(',\n')}`,
    `SELECT ${[
      ...options.entityColumns.map((c) => `b.${q(c)}`),
      ...ordered.map((expression, i) => `${expression} AS ${q(plan.outputNames[i] ?? '')}`),
      ...matches,
    ].join(',\n  ')}`,
    'FROM fstore_base b',
    ...joins,
    'ORDER BY b.fstore_row_id',
  ].join('\n');
}

/**
 * One aggregation view's features per entity row: from its running totals where given (with a
 * range join for the functions totals cannot answer), else a range join on DuckDB's `asof`
 * strategy, one-sort windows otherwise.
 */
function renderAggregates(
  view: PlannedView,
  dialect: Dialect,
  options: AggregationRenderOptions & {
    strategy: PointInTimeStrategy;
    runningTotals: RunningTotalsSource | undefined;
  },
): string {
  const { strategy, runningTotals, ...rest } = options;
  if (!runningTotals)
    return (strategy === 'asof' ? renderAggregationJoin : renderAggregationView)(
      view,
      dialect,
      rest,
    );
  const totals = renderAggregationFromRunningTotals(view, dialect, { ...rest, runningTotals });
  const others = (view.aggregations ?? []).filter((a) => !answeredByRunningTotals(a));
  if (others.length === 0) return totals;
  const q = dialect.quote;
  const joined = renderAggregationJoin({ ...view, aggregations: others }, dialect, rest);
  return [
    `  SELECT t.*, ${others.map((a) => `j.${q(a.outputName)}`).join(', ')}`,
    `  FROM (\n${totals}\n  ) t`,
    `  JOIN (\n${joined}\n  ) j ON j.fstore_row_id = t.fstore_row_id`,
  ].join('\n');
}
