import { z } from 'zod';
import { didYouMean } from '../closest-names.ts';
import { durationPattern, parseDuration } from './duration.ts';
import { type Entity, isEntity } from './entity.ts';
import { listItemField } from './errors.ts';
import {
  type AggregationFunction,
  type AggregationSpec,
  aggregationFunctions,
  checkEntities,
  checkSchedule,
  type FeatureSpec,
  type FeatureView,
  finishView,
  freshnessField,
  freshnessOf,
  type LifecycleStatus,
  lifecycleStatuses,
} from './feature-view.ts';
import { checkSourceRetention } from './retention.ts';
import {
  columnName,
  type DefinitionKind,
  definitionLabel,
  IssueCollector,
  identifier,
  type MetadataInput,
  metadataFields,
  metadataOf,
  parseDefinition,
} from './schema-parts.ts';
import { isSource, type Source } from './source.ts';
import { isIntegerType, isNumericType, listElementType, type ValueType } from './value-types.ts';

/** The functions to compute over one source column, each over every window listed. */
export interface AggregationInput {
  functions: AggregationFunction[];
  /** Durations such as "1h", "7d", "30d", "90d". */
  windows: string[];
  description?: string;
}

export interface AggregationViewInput extends MetadataInput {
  name: string;
  entities: Entity[];
  source: Source;
  /** Source column → functions and windows; features are named `<column>_<function>_<window>`. */
  aggregations: Record<string, AggregationInput>;
  online?: boolean;
  /**
   * Keep online tiles that pushes and stream records update and lookups combine, so windows
   * are fresh to the second (docs/adr/0020-aggregation-tiles.md). Needs `online: true`.
   */
  onlineTiles?: boolean;
  schedule?: string;
  expectedFreshness?: string;
  status?: LifecycleStatus;
  leakageRisk?: string;
}

const kind: DefinitionKind = 'feature view';

const aggregationSchema = z.strictObject({
  functions: z
    .array(
      z.enum(aggregationFunctions, {
        error: (issue) =>
          `${JSON.stringify(issue.input)} is not an aggregation function (${aggregationFunctions.join(', ')})`,
      }),
    )
    .min(1, 'must list at least one function'),
  windows: z
    .array(
      z.string().refine((text) => parseDuration(text) !== undefined, {
        error: (issue) => `${JSON.stringify(issue.input)} is not a window`,
        params: { hint: 'write a whole number and a unit s, m, h, d or w, e.g. "7d" or "1h"' },
      }),
    )
    .min(1, 'must list at least one window'),
  description: z.string().max(2000).optional(),
});

const viewSchema = z.strictObject({
  name: identifier,
  entities: z
    .array(z.custom<Entity>(isEntity, 'must be an entity made with defineEntity()'))
    .min(1, 'needs at least one entity'),
  source: z.custom<Source>(isSource, 'must be a source made with defineSource()'),
  aggregations: z.record(columnName, aggregationSchema),
  online: z.boolean().optional(),
  onlineTiles: z.boolean().optional(),
  schedule: z.string().optional(),
  expectedFreshness: freshnessField,
  status: z.enum(lifecycleStatuses).optional(),
  leakageRisk: z.string().max(2000).optional(),
  ...metadataFields,
});

/** What each function returns for a column of `type`; undefined when it does not apply. */
export function aggregationType(fn: AggregationFunction, type: ValueType): ValueType | undefined {
  if (listElementType(type))
    return fn === 'count' || fn === 'days_since_last' ? resultOf(fn, type) : undefined;
  return resultOf(fn, type);
}

function resultOf(fn: AggregationFunction, type: ValueType): ValueType | undefined {
  switch (fn) {
    case 'count':
    case 'count_distinct':
      return 'int64';
    case 'days_since_last':
      return 'float64';
    case 'sum':
      return isNumericType(type) ? (isIntegerType(type) ? 'int64' : 'float64') : undefined;
    case 'avg':
      return isNumericType(type) ? 'float64' : undefined;
    case 'min':
    case 'max':
      return isNumericType(type) || type === 'string' || type === 'timestamp' ? type : undefined;
    case 'last':
      return type;
  }
}

/**
 * A feature view of windowed aggregates over a source, computed point-in-time-correctly for
 * training and kept fresh online: at time t a window W covers rows with `t - W < event_ts <= t`.
 * Empty windows give `count` and `count_distinct` 0 and every other function NULL.
 *
 * ```ts
 * defineAggregationView({
 *   name: 'order_stats', entities: [customer], source: orders,
 *   aggregations: { amount: { functions: ['sum', 'count', 'avg'], windows: ['7d', '30d', '90d'] } },
 *   online: true, schedule: 'rate(1 hour)',
 * }); // features amount_sum_7d, amount_count_7d, amount_avg_7d, amount_sum_30d, ...
 * ```
 */
export function defineAggregationView(input: AggregationViewInput): FeatureView {
  const parsed = parseDefinition(viewSchema, kind, input);
  const issues = new IssueCollector(definitionLabel(kind, input));
  const source = parsed.source;
  const joinKeyNames = checkEntities(issues, parsed.entities, source);
  const sourceTypes = new Map(source.schema.map((c) => [c.name, c.type]));
  const aggregations: AggregationSpec[] = [];
  const features: FeatureSpec[] = [];
  const names = new Set<string>();
  for (const [column, spec] of Object.entries(parsed.aggregations)) {
    const field = `aggregations.${column}`;
    const columnType = sourceTypes.get(column);
    if (columnType === undefined) {
      issues.add(
        field,
        `aggregated column "${column}" is not a column of source "${source.name}" (${[...sourceTypes.keys()].join(', ')})${didYouMean(column, sourceTypes.keys())}`,
        'aggregate a column of the source schema',
      );
      continue;
    }
    if (joinKeyNames.has(column))
      issues.add(
        field,
        `"${column}" is a join key; aggregate a value column`,
        'count another column',
      );
    if (new Set(spec.windows.map(parseDuration)).size !== spec.windows.length)
      issues.add(`${field}.windows`, 'lists a window more than once', 'list each window once');
    spec.functions.forEach((fn) => {
      const type = aggregationType(fn, columnType);
      if (type === undefined) {
        issues.add(
          listItemField(`${field}.functions`, fn),
          `${fn} does not apply to ${columnType} column "${column}"`,
          fn === 'sum' || fn === 'avg'
            ? 'sum and avg need a numeric column; use count or count_distinct'
            : 'use count, last or days_since_last',
        );
        return;
      }
      for (const window of spec.windows) {
        const windowSeconds = parseDuration(window);
        if (windowSeconds === undefined || !durationPattern.test(window)) continue;
        const feature = `${column}_${fn}_${window}`;
        if (names.has(feature))
          issues.add(
            listItemField(`${field}.functions`, fn),
            `makes feature "${feature}" twice`,
            'list each function once',
          );
        names.add(feature);
        aggregations.push({ feature, column, function: fn, window, windowSeconds });
        features.push({
          name: feature,
          type,
          description:
            spec.description ?? `${fn.replaceAll('_', ' ')} of ${column} over the last ${window}`,
          nullable: !(fn === 'count' || fn === 'count_distinct'),
        });
      }
    });
  }
  if (Object.keys(parsed.aggregations).length === 0)
    issues.add('aggregations', 'has no aggregations', 'aggregate at least one column');
  if (parsed.onlineTiles && !parsed.online)
    issues.add(
      'onlineTiles',
      'keeps tiles for the online store, but the view is not online',
      'set online: true, or drop onlineTiles',
    );
  checkSchedule(issues, parsed.schedule, parsed.online);
  checkSourceRetention(
    issues,
    { transform: 'aggregation', online: parsed.online ?? false, aggregations },
    source,
  );
  issues.throwIfAny();
  return finishView({
    kind: 'featureView',
    transform: 'aggregation',
    aggregations,
    name: parsed.name,
    entities: [...parsed.entities],
    source,
    features,
    online: parsed.online ?? false,
    ...(parsed.onlineTiles ? { onlineTiles: true } : {}),
    ...(parsed.schedule !== undefined ? { schedule: parsed.schedule } : {}),
    ...freshnessOf(parsed.expectedFreshness),
    status: parsed.status ?? 'active',
    ...(parsed.leakageRisk !== undefined ? { leakageRisk: parsed.leakageRisk } : {}),
    ...metadataOf(parsed),
  });
}
