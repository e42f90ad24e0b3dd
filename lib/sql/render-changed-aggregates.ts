import { epochMicrosOf } from '../epoch-micros.ts';
import type { Dialect } from './dialect.ts';
import type { PlannedView } from './point-in-time-plan.ts';
import { renderAggregatesOfEntities } from './render-aggregation.ts';
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
  return renderAggregatesOfEntities(view, dialect, {
    where: `(${changed.join('\n    OR ')})${resume}`,
    until: window.until,
    orderByKey: options.orderByKey === true || options.afterKey !== undefined,
  });
}
