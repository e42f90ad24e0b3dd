import { isNumericType } from '../definitions/value-types.ts';
import type { Registry } from '../registry/index.ts';
import type { Dialect } from '../sql/dialect.ts';
import type { QueryRows } from './query-engine.ts';
import { type TimeRange, viewRows } from './source-rows.ts';

export const statQuantiles = [0.05, 0.25, 0.5, 0.75, 0.95] as const;

export interface FeatureStats {
  readonly feature: string;
  readonly type: string;
  readonly count: number;
  readonly nullPercent: number;
  readonly distinct: number;
  readonly min?: unknown;
  readonly max?: unknown;
  readonly mean?: number | null;
  readonly stddev?: number | null;
  /** p05, p25, p50, p75, p95 of numeric features. */
  readonly quantiles?: Readonly<Record<string, number | null>>;
  /** The five most frequent values of text and boolean features. */
  readonly top?: readonly { value: unknown; count: number }[];
}

export interface ViewStats {
  readonly view: string;
  readonly rows: number;
  readonly range: TimeRange;
  readonly features: readonly FeatureStats[];
}

/** Statistics of every feature of a view over its source rows in `range`, computed by the engine. */
export async function viewStatistics(options: {
  query: QueryRows;
  dialect: Dialect;
  registry: Registry;
  view: string;
  range?: TimeRange;
}): Promise<ViewStats> {
  const range = options.range ?? {};
  const { view, relation } = viewRows(options.registry, options.view, options.dialect, range);
  const q = options.dialect.quote;
  const { query } = options;
  const features: FeatureStats[] = [];
  let rows = 0;
  for (const feature of view.features) {
    const c = q(feature.name);
    const numeric = isNumericType(feature.type);
    const [summary] = await query(
      `SELECT count(*) AS n, count(${c}) AS present, count(DISTINCT ${c}) AS distinct_values${
        feature.type.startsWith('list<') ? '' : `, min(${c}) AS min_value, max(${c}) AS max_value`
      }${
        numeric
          ? `, avg(${c}) AS mean, stddev_samp(${c}) AS stddev, ${options.dialect.quantiles(c, statQuantiles)} AS q`
          : ''
      } FROM ${relation}`,
    );
    rows = Number(summary?.n ?? 0);
    const present = Number(summary?.present ?? 0);
    const quantiles = summary?.q as (number | null)[] | null | undefined;
    const top =
      !numeric && !feature.type.startsWith('list<')
        ? (
            await query(
              `SELECT ${c} AS value, count(*) AS n FROM ${relation} WHERE ${c} IS NOT NULL GROUP BY 1 ORDER BY n DESC, value LIMIT 5`,
            )
          ).map((r) => ({ value: r.value, count: Number(r.n) }))
        : undefined;
    features.push({
      feature: feature.name,
      type: feature.type,
      count: present,
      nullPercent: rows === 0 ? 0 : (100 * (rows - present)) / rows,
      distinct: Number(summary?.distinct_values ?? 0),
      ...(summary && 'min_value' in summary
        ? { min: summary.min_value, max: summary.max_value }
        : {}),
      ...(numeric
        ? {
            mean: (summary?.mean as number | null) ?? null,
            stddev: (summary?.stddev as number | null) ?? null,
            quantiles: Object.fromEntries(
              statQuantiles.map((p, i) => [
                `p${String(p * 100).padStart(2, '0')}`,
                quantiles?.[i] ?? null,
              ]),
            ),
          }
        : {}),
      ...(top ? { top } : {}),
    });
  }
  return { view: view.name, rows, range, features };
}
