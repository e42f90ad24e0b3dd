import type { Registry, RegistryFeature, RegistryFeatureView } from '../registry/index.ts';
import type { Dialect } from '../sql/dialect.ts';
import type { QueryRows } from './query-engine.ts';
import { viewRows } from './source-rows.ts';

export interface RuleResult {
  /** `not null`, `min 0`, `max 120`, `allowed values`, `max null 5%`, `min rows 1000`. */
  readonly rule: string;
  readonly feature?: string;
  readonly violations: number;
  readonly passed: boolean;
  /** Up to three offending rows (join keys, event time and the value). */
  readonly examples: readonly Record<string, unknown>[];
  readonly detail?: string;
}

export interface DataValidation {
  readonly view: string;
  readonly rows: number;
  readonly range: { readonly start?: string; readonly end?: string };
  readonly results: readonly RuleResult[];
  readonly passed: boolean;
}

export interface Check {
  readonly rule: string;
  readonly feature?: string;
  /** SQL condition true for a violating row. */
  readonly violates: string;
}

/**
 * Runs a view's data-quality rules over its source rows in the offline store, in the engine
 * (one aggregate query, then a small query per failing rule for examples): per feature
 * `nullable`, `min`, `max`, `allowedValues`; per view `quality.maxNullPercent` (each feature)
 * and `quality.minRows`. Rows are those with `start <= event_ts <= end` when given.
 */
export async function validateViewData(options: {
  query: QueryRows;
  dialect: Dialect;
  registry: Registry;
  view: string;
  start?: string;
  end?: string;
}): Promise<DataValidation> {
  const range = {
    ...(options.start ? { start: options.start } : {}),
    ...(options.end ? { end: options.end } : {}),
  };
  const { view, relation } = viewRows(options.registry, options.view, options.dialect, range);
  const timestamp =
    options.registry.sources.find((s) => s.name === view.source)?.timestampField ?? 'event_ts';
  const { rows, results } = await checkViewRules({
    query: options.query,
    dialect: options.dialect,
    view,
    relation,
    exampleColumns: [
      ...view.joinKeys.map((k) => k.name),
      timestamp,
      ...view.features.map((f) => f.name),
    ],
  });
  return {
    view: view.name,
    rows,
    range: {
      ...(options.start ? { start: options.start } : {}),
      ...(options.end ? { end: options.end } : {}),
    },
    results,
    passed: results.every((r) => r.passed),
  };
}

/**
 * A view's rules over any relation of its rows (the offline store, or a file being ingested):
 * one aggregate query for every rule, then up to three examples (`exampleColumns`, in their
 * order) per failing feature rule.
 */
export async function checkViewRules(options: {
  query: QueryRows;
  dialect: Pick<Dialect, 'notFinite' | 'quote' | 'literal'>;
  view: RegistryFeatureView;
  relation: string;
  exampleColumns: readonly string[];
}): Promise<{ rows: number; results: RuleResult[] }> {
  const { dialect, view } = options;
  const q = dialect.quote;
  const relation = `${options.relation} fstore_rows`;
  const checks = view.features.flatMap((f) => featureChecks(f, dialect, view.online));
  const nullCounts = view.features.map(
    (f) => `count(*) FILTER (WHERE ${q(f.name)} IS NULL) AS ${q(`null_${f.name}`)}`,
  );
  const sql = `SELECT count(*) AS fstore_rows, ${[
    ...checks.map((c, i) => `count(*) FILTER (WHERE ${c.violates}) AS ${q(`check_${i}`)}`),
    ...nullCounts,
  ].join(', ')} FROM ${relation}`;
  const counts: Record<string, unknown> = (await options.query(sql))[0] ?? { fstore_rows: 0 };
  const rows = Number(counts.fstore_rows ?? 0);
  const examplesFor = async (condition: string) =>
    rows === 0
      ? []
      : options.query(
          `SELECT ${options.exampleColumns.map(q).join(', ')} FROM ${relation} WHERE ${condition} ORDER BY 1 LIMIT 3`,
        );
  const results: RuleResult[] = [];
  for (const [index, check] of checks.entries()) {
    const violations = Number(counts[`check_${index}`] ?? 0);
    results.push({
      rule: check.rule,
      ...(check.feature ? { feature: check.feature } : {}),
      violations,
      passed: violations === 0,
      examples: violations > 0 ? await examplesFor(check.violates) : [],
    });
  }
  const maxNull = view.quality?.maxNullPercent;
  if (maxNull !== undefined)
    for (const feature of view.features) {
      const nulls = Number(counts[`null_${feature.name}`] ?? 0);
      const percent = rows === 0 ? 0 : (100 * nulls) / rows;
      results.push({
        rule: `max null ${maxNull}%`,
        feature: feature.name,
        violations: percent > maxNull ? nulls : 0,
        passed: percent <= maxNull,
        examples: [],
        detail: `${percent.toFixed(2)}% null (${nulls} of ${rows})`,
      });
    }
  const minRows = view.quality?.minRows;
  if (minRows !== undefined)
    results.push({
      rule: `min rows ${minRows}`,
      violations: rows < minRows ? minRows - rows : 0,
      passed: rows >= minRows,
      examples: [],
      detail: `${rows} rows`,
    });
  return { rows, results };
}

/**
 * The per-feature constraint checks of a feature, as SQL conditions true for a violating row.
 * A float feature of an online view must be finite: the online store cannot hold NaN or an
 * infinity, so materialization would quarantine the row and lookups would answer an older
 * value than training sets (issue 18's skew).
 */
export function featureChecks(
  feature: RegistryFeature,
  dialect: Pick<Dialect, 'notFinite' | 'quote' | 'literal'>,
  online = false,
): Check[] {
  const column = dialect.quote(feature.name);
  const checks: Check[] = [];
  if (online && (feature.type === 'float32' || feature.type === 'float64'))
    checks.push({
      rule: 'finite (online)',
      feature: feature.name,
      violates: dialect.notFinite(column),
    });
  if (!feature.nullable)
    checks.push({ rule: 'not null', feature: feature.name, violates: `${column} IS NULL` });
  if (feature.min !== undefined)
    checks.push({
      rule: `min ${feature.min}`,
      feature: feature.name,
      violates: `${column} < ${feature.min}`,
    });
  if (feature.max !== undefined)
    checks.push({
      rule: `max ${feature.max}`,
      feature: feature.name,
      violates: `${column} > ${feature.max}`,
    });
  if (feature.allowedValues)
    checks.push({
      rule: 'allowed values',
      feature: feature.name,
      violates: `${column} NOT IN (${feature.allowedValues
        .map((v) => (typeof v === 'string' ? dialect.literal(v) : String(v)))
        .join(', ')})`,
    });
  return checks;
}
