import type { PlannedView } from '../sql/point-in-time-plan.ts';
import { chooseSumScales } from '../sql/render-running-totals.ts';
import { FullBuildRequired } from '../sql/render-running-totals-increment.ts';

/** Sum-scale statistics as renderSumScalesQuery names them: `<column>@lo`, `@abs`, `@bad`. */
export type SumStatistics = Readonly<Record<string, number | null>>;

const number = (value: unknown): number | null =>
  value === null || value === undefined ? null : Number(value);

/** A renderSumScalesQuery row as JSON-safe numbers. */
export function sumStatistics(row: Readonly<Record<string, unknown>>): SumStatistics {
  return Object.fromEntries(Object.entries(row).map(([key, value]) => [key, number(value)]));
}

/**
 * The statistics of the union of two row sets: the smallest exponent (`@lo`), the sum of the
 * magnitudes (`@abs`) and the count of non-finite values (`@bad`). NULL means no value
 * counted. Any other statistic cannot be merged: the caller builds in full instead.
 */
export function mergeSumStatistics(before: SumStatistics, added: SumStatistics): SumStatistics {
  const merged: Record<string, number | null> = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(added)])) {
    const a = before[key] ?? null;
    const b = added[key] ?? null;
    const part = key.slice(key.lastIndexOf('@') + 1);
    if (part !== 'lo' && part !== 'abs' && part !== 'bad')
      throw new FullBuildRequired(`the sum-scale statistic ${key} cannot be merged`);
    if (a === null || b === null) merged[key] = a ?? b;
    else merged[key] = part === 'lo' ? Math.min(a, b) : a + b;
  }
  return merged;
}

/**
 * The engine's double sum of n non-negative magnitudes is within (n - 1) * 2^-53 of the true
 * sum, in any order: 1e-6 covers both that sum and a merged one up to about 4e9 rows.
 */
const magnitudeSlack = 1e-6;

/**
 * The sum scales a full build over the merged rows would choose, when they are certain: the
 * choice reads the magnitude sum only through its bit count, and a full build sums the
 * magnitudes in its own order, so a magnitude within the slack of a bit boundary (where the
 * two sums could choose differently) is refused with FullBuildRequired.
 */
export function mergedSumScales(view: PlannedView, merged: SumStatistics): Map<string, number> {
  const scaled = (factor: number) =>
    chooseSumScales(
      view,
      Object.fromEntries(
        Object.entries(merged).map(([key, value]) => [
          key,
          key.endsWith('@abs') && value !== null ? value * factor : value,
        ]),
      ),
    );
  const low = scaled(1 - magnitudeSlack);
  const high = scaled(1 + magnitudeSlack);
  for (const column of new Set([...low.keys(), ...high.keys()]))
    if (low.get(column) !== high.get(column))
      throw new FullBuildRequired(
        `the sum of column ${column} is at the edge of exact sums, where only a full build decides`,
      );
  return low;
}

/** The first column whose scale differs between two choices, if any. */
export function changedScale(
  before: ReadonlyMap<string, number>,
  after: ReadonlyMap<string, number>,
): string | undefined {
  for (const column of new Set([...before.keys(), ...after.keys()]))
    if (before.get(column) !== after.get(column)) return column;
  return undefined;
}
