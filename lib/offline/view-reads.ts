import type { PlannedView, PointInTimePlan } from '../sql/point-in-time-plan.ts';
import { answeredByRunningTotals } from '../sql/render-running-totals.ts';
import type { PointInTimeStrategy } from '../sql/render-training-set.ts';

/**
 * Below this many entity rows a range join, which reads only the days the windows reach, beats
 * looking up running totals, which reads every total of the source.
 */
export const RUNNING_TOTALS_MIN_ENTITY_ROWS = 100_000;

/** The options of a local training set that decide what each view reads. */
export interface ViewReadOptions {
  /** Default `asof`; running totals serve only that strategy. */
  readonly strategy?: PointInTimeStrategy;
  /** Default `auto`: running totals from RUNNING_TOTALS_MIN_ENTITY_ROWS rows, for views they answer whole. */
  readonly aggregations?: 'auto' | 'range-join' | 'running-totals';
  /** `auto` reads running totals from this many entity rows (RUNNING_TOTALS_MIN_ENTITY_ROWS). */
  readonly runningTotalsFromRows?: number;
}

/** The aggregation views of `plan` a training set of `entityRows` rows reads running totals for. */
export function runningTotalsViews(
  plan: PointInTimePlan,
  options: ViewReadOptions,
  entityRows: number,
): PlannedView[] {
  const mode = options.aggregations ?? 'auto';
  if ((options.strategy ?? 'asof') !== 'asof' || mode === 'range-join') return [];
  return plan.views.filter((view) => {
    const aggregations = view.aggregations ?? [];
    if (!aggregations.some(answeredByRunningTotals)) return false;
    if (mode === 'running-totals') return true;
    return (
      entityRows >= (options.runningTotalsFromRows ?? RUNNING_TOTALS_MIN_ENTITY_ROWS) &&
      aggregations.every(answeredByRunningTotals)
    );
  });
}

/** What one view of a local training set reads. */
export interface ViewRead {
  readonly view: string;
  readonly source: string;
  /** Its running totals (built from every file of the source when missing or out of date). */
  readonly runningTotals: boolean;
  /** The source's data files in the request's scope: all views but those totals answer whole. */
  readonly sourceFiles: boolean;
}

/**
 * What each view of `plan` reads in a training set of `entityRows` rows: a view answered from
 * running totals reads its totals, and the source's files too only for the functions totals
 * cannot answer (with `aggregations: 'running-totals'`). Chosen automatically, totals that fail
 * to build give way to the source's files; that cannot be foreseen here.
 */
export function viewReads(
  plan: PointInTimePlan,
  options: ViewReadOptions,
  entityRows: number,
): ViewRead[] {
  const totals = new Set(runningTotalsViews(plan, options, entityRows).map((v) => v.view));
  return plan.views.map((view) => {
    const runningTotals = totals.has(view.view);
    return {
      view: view.view,
      source: view.source,
      runningTotals,
      sourceFiles: !runningTotals || !(view.aggregations ?? []).every(answeredByRunningTotals),
    };
  });
}
