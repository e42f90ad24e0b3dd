import { didYouMean } from '../closest-names.ts';
import type { AggregationFunction, JoinKeyType, ValueType } from '../definitions/index.ts';
import { compileExpression, ExpressionError, type TypedExpression } from '../expressions/index.ts';
import { HintedError } from '../hinted-error.ts';
import type { RuntimeFeatureView, RuntimeRegistry } from '../registry/runtime-projection.ts';

/** A feature requested from one view, and the column name it gets in the result. */
export interface PlannedFeature {
  readonly feature: string;
  readonly type: ValueType;
  readonly sourceType: ValueType;
  readonly outputName: string;
  /** A derived feature's checked expression over source columns, read instead of a column. */
  readonly expression?: TypedExpression;
}

/** A requested aggregation feature: `function` of source `column` over the last `windowSeconds`. */
export interface PlannedAggregation {
  readonly outputName: string;
  readonly column: string;
  readonly columnType: ValueType;
  readonly function: AggregationFunction;
  readonly windowSeconds: number;
  readonly type: ValueType;
}

export interface PlannedView {
  readonly view: string;
  readonly source: string;
  readonly joinKeys: readonly { readonly name: string; readonly type: JoinKeyType }[];
  readonly timestampColumn: string;
  readonly createdColumn?: string;
  readonly ttlSeconds?: number;
  /** The source's row filter: every read of the source keeps only rows where it is TRUE. */
  readonly rowFilter?: TypedExpression;
  readonly features: readonly PlannedFeature[];
  /** Set for aggregation views: their features are windowed aggregates, not row values. */
  readonly aggregations?: readonly PlannedAggregation[];
}

/**
 * The logical plan of a point-in-time join: which views, keys, windows and output columns.
 * Dialects render it to SQL; nothing in it depends on the engine.
 */
export interface PointInTimePlan {
  readonly entityTimestampColumn: string;
  readonly views: readonly PlannedView[];
  /** Output feature columns in order. */
  readonly outputNames: readonly string[];
}

export class PlanError extends HintedError {}

/** Which features to fetch: a feature service, or explicit `view:feature` references. */
export type FeatureRequest =
  | { readonly service: string }
  | { readonly features: readonly string[] };

export interface PlanOptions {
  readonly fullFeatureNames?: boolean;
  /** Column of the entity rows holding each row's point in time. */
  readonly entityTimestampColumn: string;
  /**
   * Stored features fetched under the given column names whatever `fullFeatureNames` says:
   * the inputs of on-demand views, which the training set reads and leaves out of its result.
   */
  readonly extraFeatures?: readonly {
    readonly view: string;
    readonly feature: string;
    readonly outputName: string;
  }[];
}

export function planPointInTime(
  registry: RuntimeRegistry,
  request: FeatureRequest,
  options: PlanOptions,
): PointInTimePlan {
  const selected: { view: RuntimeFeatureView; feature: string; alias?: string; fixed?: true }[] = [
    ...('service' in request
      ? serviceSelection(registry, request.service)
      : referenceSelection(registry, request.features)),
    ...(options.extraFeatures ?? []).map((extra) => ({
      view: viewNamed(registry, extra.view),
      feature: extra.feature,
      alias: extra.outputName,
      fixed: true as const,
    })),
  ];
  const byView = new Map<
    string,
    {
      view: RuntimeFeatureView;
      source: RuntimeRegistry['sources'][number];
      features: PlannedFeature[];
    }
  >();
  for (const { view, feature, alias, fixed } of selected) {
    const spec = view.features.find((f) => f.name === feature);
    const source = sourceOf(registry, view);
    const expression =
      spec?.expr !== undefined
        ? checkedExpression(spec.expr, source.schema, `feature "${view.name}.${feature}"`)
        : undefined;
    const sourceType =
      view.transform === 'aggregation'
        ? spec?.type
        : expression
          ? expression.type === 'null'
            ? spec?.type
            : expression.type
          : source.schema.find((c) => c.name === feature)?.type;
    if (!spec || !sourceType)
      throw new PlanError(
        `view "${view.name}" has no feature "${feature}"`,
        `run \`fstore describe ${view.name}\` to see its features`,
      );
    const outputName =
      options.fullFeatureNames && !fixed ? `${view.name}__${feature}` : (alias ?? feature);
    const entry = byView.get(view.name) ?? { view, source, features: [] };
    entry.features.push({
      feature,
      type: spec.type,
      sourceType,
      outputName,
      ...(expression ? { expression } : {}),
    });
    byView.set(view.name, entry);
  }
  const outputNames = [...byView.values()].flatMap((v) => v.features.map((f) => f.outputName));
  checkCollisions(
    outputNames,
    [...byView.values()].flatMap((v) => v.features.map((f) => `${v.view.name}.${f.feature}`)),
    options.entityTimestampColumn,
  );
  const views = [...byView.values()].map(({ view, source, features }): PlannedView => {
    return {
      view: view.name,
      source: source.name,
      joinKeys: view.joinKeys,
      timestampColumn: source.timestampField,
      ...(source.createdTimestampField ? { createdColumn: source.createdTimestampField } : {}),
      ...(view.ttlSeconds !== undefined ? { ttlSeconds: view.ttlSeconds } : {}),
      ...(source.filter !== undefined
        ? {
            rowFilter: checkedExpression(
              source.filter,
              source.schema,
              `the row filter of source "${source.name}"`,
            ),
          }
        : {}),
      features,
      ...(view.transform === 'aggregation'
        ? { aggregations: features.map((f) => plannedAggregation(view, source, f)) }
        : {}),
    };
  });
  return { entityTimestampColumn: options.entityTimestampColumn, views, outputNames };
}

/** A view's source; a registry edited by hand may lack it. */
function sourceOf(
  registry: RuntimeRegistry,
  view: RuntimeFeatureView,
): RuntimeRegistry['sources'][number] {
  const source = registry.sources.find((s) => s.name === view.source);
  if (!source)
    throw new PlanError(
      `view "${view.name}" reads source "${view.source}", which is not in the registry`,
      'recompile the registry',
    );
  return source;
}

/** An expression of the registry, checked again (a registry may be edited by hand or stale). */
function checkedExpression(
  expression: string,
  columns: readonly { name: string; type: ValueType }[],
  what: string,
): TypedExpression {
  try {
    return compileExpression(expression, columns);
  } catch (error) {
    if (!(error instanceof ExpressionError)) throw error;
    throw new PlanError(
      `${what}: ${error.message}`,
      'fix the definition and recompile the registry',
      {
        cause: error,
      },
    );
  }
}

function plannedAggregation(
  view: RuntimeFeatureView,
  source: RuntimeRegistry['sources'][number],
  feature: PlannedFeature,
): PlannedAggregation {
  const spec = view.aggregations?.find((a) => a.feature === feature.feature);
  const columnType = source.schema.find((c) => c.name === spec?.column)?.type;
  if (!spec || !columnType)
    throw new PlanError(
      `aggregation feature "${view.name}.${feature.feature}" has no definition in the registry`,
      'recompile the registry',
    );
  return {
    outputName: feature.outputName,
    column: spec.column,
    columnType,
    function: spec.function,
    windowSeconds: spec.windowSeconds,
    type: feature.type,
  };
}

/** Join keys the entity rows must carry for this plan. */
export function requiredJoinKeys(plan: PointInTimePlan): { name: string; type: JoinKeyType }[] {
  const keys = new Map<string, JoinKeyType>();
  for (const view of plan.views) for (const key of view.joinKeys) keys.set(key.name, key.type);
  return [...keys].map(([name, type]) => ({ name, type }));
}

/**
 * How far before an entity row's time the views of `plan` on `source` read: the longest TTL, or
 * for aggregation views the widest window. Undefined when one of them looks back without limit
 * (a view without TTL).
 */
export function sourceLookbackSeconds(plan: PointInTimePlan, source: string): number | undefined {
  let longest = 0;
  for (const view of plan.views) {
    if (view.source !== source) continue;
    const seconds = view.aggregations
      ? Math.max(...view.aggregations.map((a) => a.windowSeconds))
      : view.ttlSeconds;
    if (seconds === undefined) return undefined;
    longest = Math.max(longest, seconds);
  }
  return longest;
}

function serviceSelection(registry: RuntimeRegistry, name: string) {
  const service = registry.featureServices.find((s) => s.name === name);
  if (!service) {
    throw new PlanError(
      `no feature service "${name}"`,
      `known services: ${registry.featureServices.map((s) => s.name).join(', ') || 'none'}`,
    );
  }
  return service.features.map((f) => ({
    view: viewNamed(registry, f.view),
    feature: f.feature,
    alias: f.outputName,
  }));
}

function referenceSelection(registry: RuntimeRegistry, references: readonly string[]) {
  if (references.length === 0)
    throw new PlanError(
      'no features requested',
      'name a feature service or features as view:feature',
    );
  return references.flatMap((reference) => {
    const [viewName, feature, extra] = reference.split(':');
    if (!viewName || extra !== undefined)
      throw new PlanError(
        `"${reference}" is not a feature reference`,
        'write view:feature, or view:* for all features of a view',
      );
    const view = viewNamed(registry, viewName);
    if (feature === undefined || feature === '*')
      return view.features.map((f) => ({ view, feature: f.name, alias: undefined }));
    if (!view.features.some((f) => f.name === feature)) {
      throw new PlanError(
        `view "${viewName}" has no feature "${feature}"${didYouMean(
          feature,
          view.features.map((f) => f.name),
        )}`,
        `it has ${view.features.map((f) => f.name).join(', ')}`,
      );
    }
    return [{ view, feature, alias: undefined }];
  });
}

function viewNamed(registry: RuntimeRegistry, name: string): RuntimeFeatureView {
  const view = registry.featureViews.find((v) => v.name === name);
  if (!view)
    throw new PlanError(
      `no feature view "${name}"${didYouMean(
        name,
        registry.featureViews.map((v) => v.name),
      )}`,
      `known views: ${registry.featureViews.map((v) => v.name).join(', ')}`,
    );
  return view;
}

function checkCollisions(
  outputNames: readonly string[],
  producers: readonly string[],
  timestampColumn: string,
): void {
  const seen = new Map<string, string>();
  outputNames.forEach((name, index) => {
    const producer = producers[index] ?? name;
    const earlier = seen.get(name);
    if (earlier !== undefined) {
      throw new PlanError(
        `feature name "${name}" is produced by both ${earlier} and ${producer}`,
        'request full feature names (--full-feature-names) or alias one of them in the feature service',
      );
    }
    if (name === timestampColumn)
      throw new PlanError(
        `feature name "${name}" collides with the entity timestamp column`,
        'request full feature names (--full-feature-names)',
      );
    seen.set(name, producer);
  });
}
