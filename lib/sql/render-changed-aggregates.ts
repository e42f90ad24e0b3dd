import { epochMicrosOf } from '../epoch-micros.ts';
import type { Dialect } from './dialect.ts';
import type { PlannedView } from './point-in-time-plan.ts';
import { renderAggregationView } from './render-aggregation.ts';
import { keysAfter, type LatestOptions } from './render-latest.ts';
import { eventsBetween, type NewIngestFilter, newRowsCondition } from './render-new-ingests.ts';

const micros = (seconds: number) => BigInt(seconds) * 1_000_000n;

/**
 * The aggregates at `until` of exactly the entities whose values can differ from the ones
 * written at the last run (`after`): entities with a new ingest's row inside the widest window
 * at `until`; with a row that left a window since (`after - W < ts <= until - W` for each window
 * W); with a row whose time came since (`after < ts <= until`); and, for `days_since_last`, whose
 * value ages with time, with a row in that window. Same row shape as renderAggregatesAt.
 */
export function renderChangedAggregatesAt(
  view: PlannedView,
  dialect: Dialect,
  window: { readonly after: string; readonly until: string; readonly newIngests: NewIngestFilter },
  options: LatestOptions = {},
): string {
  const aggregations = view.aggregations ?? [];
  if (aggregations.length === 0) throw new Error(`view ${view.view} has no aggregations`);
  const q = dialect.quote;
  const keys = view.joinKeys.map((k) => q(k.name));
  const after = epochMicrosOf(window.after);
  const until = epochMicrosOf(window.until);
  const windows = [...new Set(aggregations.map((a) => a.windowSeconds))].sort((a, b) => a - b);
  const widest = windows[windows.length - 1] as number;
  const aging = [
    ...new Set(
      aggregations.filter((a) => a.function === 'days_since_last').map((a) => a.windowSeconds),
    ),
  ];
  const inWidest = eventsBetween(view, dialect, until - micros(widest), until) as string;
  const changed = [
    `(${newRowsCondition(dialect, window.newIngests)} AND ${inWidest})`,
    ...windows.map((w) => eventsBetween(view, dialect, after - micros(w), until - micros(w))),
    eventsBetween(view, dialect, after, until),
    ...aging.map((w) => eventsBetween(view, dialect, until - micros(w), until)),
  ].filter((c): c is string => c !== undefined);
  const resume = options.afterKey
    ? ` AND ${keysAfter(view.joinKeys, options.afterKey, dialect)}`
    : '';
  const at = dialect.timestampLiteral(window.until);
  const entities = [
    `SELECT ${keys.join(', ')}, ${at} AS fstore_at, row_number() OVER () AS fstore_row_id FROM (`,
    `  SELECT DISTINCT ${keys.join(', ')} FROM ${dialect.sourceRelation(view.source)}`,
    `  WHERE (${changed.join('\n    OR ')})${resume}`,
    ') fstore_changed',
  ].join('\n');
  const aggregates = renderAggregationView(view, dialect, {
    entityRelation: 'fstore_entities',
    entityTimestampColumn: 'fstore_at',
    entityTimeRange: { min: window.until, max: window.until },
  });
  return [
    `WITH fstore_entities AS (\n${entities}\n),`,
    `fstore_aggregates AS (\n${aggregates}\n)`,
    `SELECT ${[
      ...keys.map((k) => `e.${k}`),
      ...view.features.map((f) => `a.${q(f.outputName)}`),
      'e.fstore_at AS event_ts',
      `CAST(NULL AS ${dialect.sqlType('timestamp')}) AS created_ts`,
      'CAST(NULL AS BIGINT) AS fstore_seq',
    ].join(', ')}`,
    'FROM fstore_entities e JOIN fstore_aggregates a ON a.fstore_row_id = e.fstore_row_id',
    ...(options.orderByKey || options.afterKey
      ? [`ORDER BY ${keys.map((k) => `e.${k}`).join(', ')}`]
      : []),
  ].join('\n');
}
