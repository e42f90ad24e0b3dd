import type { Dialect } from './dialect.ts';
import type { PointInTimePlan } from './point-in-time-plan.ts';
import { type PointInTimeRenderOptions, renderPointInTime } from './render-point-in-time.ts';
import { renderPointInTimeAsof } from './render-point-in-time-asof.ts';

/** How the point-in-time join is written: `merge-window` runs everywhere, `asof` on DuckDB only. */
export type PointInTimeStrategy = 'asof' | 'merge-window';

/** The point-in-time SQL for `dialect`, with the engine's fastest strategy unless one is named. */
export function renderTrainingSetSql(
  plan: PointInTimePlan,
  dialect: Dialect,
  options: PointInTimeRenderOptions & { strategy?: PointInTimeStrategy },
): string {
  const strategy = options.strategy ?? (dialect.name === 'duckdb' ? 'asof' : 'merge-window');
  return strategy === 'asof'
    ? renderPointInTimeAsof(plan, dialect, options)
    : renderPointInTime(plan, dialect, options);
}
