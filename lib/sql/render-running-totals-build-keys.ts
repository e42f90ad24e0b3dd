import type { Dialect } from './dialect.ts';
import type { PlannedView } from './point-in-time-plan.ts';
import { summedFloatColumns, sumScaleStatistics } from './render-running-totals.ts';
import { keyIdColumn } from './render-running-totals-key-ids.ts';
import { viewSourceRelation } from './view-source.ts';

/**
 * What a full build needs to know of its source before its window pass, from one read: every
 * distinct key with its id (1..n in key order, as renderKeyIds numbers them) and, per key, the
 * sum-scale statistics of its rows (renderSumScalesQuery's columns). The source's statistics
 * are then combined from the per-key rows (renderBuildKeysStatistics). The dictionary and the
 * statistics used to read the whole source once each.
 */
export function renderBuildKeys(view: PlannedView, dialect: Dialect): string {
  const keys = view.joinKeys.map((k) => dialect.quote(k.name)).join(', ');
  const statistics = sumScaleStatistics(view, dialect);
  return [
    `SELECT ${keys}, ${[...statistics, `row_number() OVER (ORDER BY ${keys}) AS ${keyIdColumn}`].join(', ')}`,
    `FROM ${viewSourceRelation(view, dialect)}`,
    `GROUP BY ${keys}`,
  ].join('\n');
}

/**
 * The source's sum-scale statistics (one row, named as renderSumScalesQuery names them) from
 * `buildKeys`, a relation of renderBuildKeys's rows; undefined when no float column is summed.
 * The smallest exponent is the smallest per key and the counts add up; the magnitudes' sum is
 * summed again in another order, which the scale choice allows for (sum-scale-statistics.ts:
 * a double sum of magnitudes has no fixed order in a parallel engine either).
 */
export function renderBuildKeysStatistics(
  view: PlannedView,
  dialect: Dialect,
  buildKeys: string,
): string | undefined {
  const q = dialect.quote;
  const columns = summedFloatColumns(view);
  if (columns.length === 0) return undefined;
  const combined = columns.flatMap((name) => {
    const [lo, abs, bad] = ['lo', 'abs', 'bad'].map((part) => q(`${name}@${part}`));
    return [
      `min(${lo}) AS ${lo}`,
      `sum(${abs}) AS ${abs}`,
      `CAST(coalesce(sum(${bad}), 0) AS BIGINT) AS ${bad}`,
    ];
  });
  return `SELECT ${combined.join(', ')} FROM ${buildKeys}`;
}

/** The dictionary (join keys and `fstore_key_id`) of `buildKeys`, renderBuildKeys's rows. */
export function buildKeyIds(view: PlannedView, dialect: Dialect, buildKeys: string): string {
  const columns = [...view.joinKeys.map((k) => dialect.quote(k.name)), keyIdColumn].join(', ');
  return `(SELECT ${columns} FROM ${buildKeys})`;
}
