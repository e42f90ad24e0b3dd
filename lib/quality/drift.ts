import { isNumericType } from '../definitions/value-types.ts';
import type { Registry } from '../registry/index.ts';
import type { Dialect } from '../sql/dialect.ts';
import { psi } from './psi.ts';
import type { QueryRows } from './query-engine.ts';
import { type TimeRange, viewRows } from './source-rows.ts';

export interface FeatureDrift {
  readonly feature: string;
  readonly kind: 'numeric' | 'categorical';
  /** PSI of the binned distributions (numeric: bins at the baseline's deciles). */
  readonly psi: number;
  readonly drifted: boolean;
  readonly bins: readonly { label: string; baseline: number; current: number }[];
}

export interface DriftReport {
  readonly view: string;
  readonly baseline: TimeRange & { rows: number };
  readonly current: TimeRange & { rows: number };
  readonly threshold: number;
  readonly features: readonly FeatureDrift[];
}

const maxCategories = 20;

/**
 * Drift of every numeric and text/boolean feature of a view between two event-time ranges,
 * binned and counted by the engine: numeric features on the baseline's deciles (plus a NULL bin),
 * categorical ones per value (the baseline's 20 most frequent, the rest as "other", plus NULL).
 * A feature drifts when its PSI is above `threshold` (default 0.2).
 */
export async function viewDrift(options: {
  query: QueryRows;
  dialect: Dialect;
  registry: Registry;
  view: string;
  baseline: TimeRange;
  current: TimeRange;
  threshold?: number;
}): Promise<DriftReport> {
  const threshold = options.threshold ?? 0.2;
  const base = viewRows(options.registry, options.view, options.dialect, options.baseline);
  const now = viewRows(options.registry, options.view, options.dialect, options.current);
  const q = options.dialect.quote;
  const literal = options.dialect.literal;
  const { query } = options;
  const count = async (relation: string) =>
    Number((await query(`SELECT count(*) AS n FROM ${relation}`))[0]?.n ?? 0);
  const features: FeatureDrift[] = [];
  for (const feature of base.view.features) {
    if (feature.type.startsWith('list<') || feature.type === 'timestamp') continue;
    const c = q(feature.name);
    let binOf: string;
    let labels: string[];
    let kind: FeatureDrift['kind'];
    if (isNumericType(feature.type)) {
      kind = 'numeric';
      const [row] = await query(
        `SELECT ${options.dialect.quantiles(c, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])} AS edges FROM ${base.relation}`,
      );
      const edges = [
        ...new Set(((row?.edges as number[] | null) ?? []).filter((e) => e !== null)),
      ].sort((a, b) => a - b);
      binOf = `CASE WHEN ${c} IS NULL THEN -1 ${edges.map((e, i) => `WHEN ${c} <= ${e} THEN ${i}`).join(' ')} ELSE ${edges.length} END`;
      labels = [
        ...edges.map((e, i) =>
          i === 0 ? `≤ ${round(e)}` : `${round(edges[i - 1] as number)} – ${round(e)}`,
        ),
        edges.length > 0 ? `> ${round(edges[edges.length - 1] as number)}` : 'all',
      ];
    } else {
      kind = 'categorical';
      const top = (
        await query(
          `SELECT CAST(${c} AS VARCHAR) AS value FROM ${base.relation} WHERE ${c} IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT ${maxCategories}`,
        )
      ).map((r) => String(r.value));
      binOf = `CASE WHEN ${c} IS NULL THEN -1 ${top.map((v, i) => `WHEN CAST(${c} AS VARCHAR) = ${literal(v)} THEN ${i}`).join(' ')} ELSE ${top.length} END`;
      labels = [...top, 'other'];
    }
    const histogram = async (relation: string) => {
      const counts = new Map(
        (await query(`SELECT ${binOf} AS bin, count(*) AS n FROM ${relation} GROUP BY 1`)).map(
          (r) => [Number(r.bin), Number(r.n)],
        ),
      );
      return [-1, ...labels.map((_, i) => i)].map((bin) => counts.get(bin) ?? 0);
    };
    const baselineCounts = await histogram(base.relation);
    const currentCounts = await histogram(now.relation);
    const value = psi(baselineCounts, currentCounts);
    features.push({
      feature: feature.name,
      kind,
      psi: value,
      drifted: value > threshold,
      bins: ['NULL', ...labels].map((label, i) => ({
        label,
        baseline: baselineCounts[i] ?? 0,
        current: currentCounts[i] ?? 0,
      })),
    });
  }
  return {
    view: base.view.name,
    baseline: { ...options.baseline, rows: await count(base.relation) },
    current: { ...options.current, rows: await count(now.relation) },
    threshold,
    features,
  };
}

function round(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toPrecision(4);
}
