import { z } from 'zod';
import { didYouMean } from '../closest-names.ts';
import { compileExpression, ExpressionError, maxExpressionLength } from '../expressions/index.ts';
import { parseDuration } from './duration.ts';
import { type Entity, isEntity } from './entity.ts';
import { listItemField } from './errors.ts';
import { checkSourceRetention } from './retention.ts';
import { parseSchedule, ScheduleError } from './schedule.ts';
import {
  columnName,
  type DefinitionKind,
  type DefinitionMetadata,
  deepFreeze,
  definitionLabel,
  IssueCollector,
  identifier,
  type MetadataInput,
  metadataFields,
  metadataOf,
  parseDefinition,
  valueType,
} from './schema-parts.ts';
import { isSource, type Source } from './source.ts';
import { canWiden, isIntegerType, isNumericType, type ValueType } from './value-types.ts';

export const lifecycleStatuses = ['draft', 'active', 'deprecated'] as const;
export type LifecycleStatus = (typeof lifecycleStatuses)[number];

export interface FeatureSpec {
  readonly name: string;
  readonly type: ValueType;
  /**
   * For a derived feature: the expression over source columns it is computed from
   * (docs/expressions.md), e.g. `monthly_charges * 12`. Absent: the source column of this name.
   */
  readonly expr?: string;
  readonly description?: string;
  /** Whether a row may hold NULL for this feature. Default true. */
  readonly nullable: boolean;
  readonly min?: number;
  readonly max?: number;
  readonly allowedValues?: readonly (string | number | boolean)[];
}

export interface FeatureSelection {
  readonly kind: 'featureSelection';
  readonly view: FeatureView;
  readonly features: readonly { readonly feature: string; readonly alias?: string }[];
}

export type SelectItem = string | { feature: string; alias: string };

export const aggregationFunctions = [
  'count',
  'sum',
  'avg',
  'min',
  'max',
  'last',
  'count_distinct',
  'days_since_last',
] as const;
export type AggregationFunction = (typeof aggregationFunctions)[number];

/** One aggregated feature: `function` of `column` over the rows of the last `window`. */
export interface AggregationSpec {
  readonly feature: string;
  readonly column: string;
  readonly function: AggregationFunction;
  readonly window: string;
  readonly windowSeconds: number;
}

/** Features computed from one source for one set of entities. */
export interface FeatureView extends DefinitionMetadata {
  readonly kind: 'featureView';
  /**
   * How values are computed: `passthrough` takes them from the newest source row as they are;
   * `aggregation` aggregates the source rows of time windows (see `aggregations`).
   */
  readonly transform: 'passthrough' | 'aggregation';
  /** For `aggregation` views: how each feature is computed. */
  readonly aggregations?: readonly AggregationSpec[];
  readonly name: string;
  readonly entities: readonly Entity[];
  readonly source: Source;
  readonly features: readonly FeatureSpec[];
  /** How long a value stays valid after its event time ("30d"); absent means forever. */
  readonly ttl?: string;
  readonly ttlSeconds?: number;
  /** Whether values are materialized to the online store and served by the API. */
  readonly online: boolean;
  /**
   * Aggregation views only: pushes and stream records keep per-entity tiles online and lookups
   * combine them at request time, so windows are fresh to the second (docs/adr/0020).
   */
  readonly onlineTiles?: boolean;
  /** EventBridge expression for materialization, e.g. "rate(6 hours)". */
  readonly schedule?: string;
  /** How stale online values may get before the freshness alarm fires ("12h"); default twice the schedule interval. */
  readonly expectedFreshness?: string;
  readonly expectedFreshnessSeconds?: number;
  /** View-level data-quality rules, checked by `fstore validate-data`. */
  readonly quality?: QualityRules;
  readonly status: LifecycleStatus;
  /** Why a feature could leak the label, if it could; shown in describe and the registry. */
  readonly leakageRisk?: string;
  /** Picks features of this view for a feature service; no argument picks all of them. */
  select(features?: readonly SelectItem[]): FeatureSelection;
}

export interface QualityRules {
  /** Largest share of NULLs any feature may have, in percent. */
  readonly maxNullPercent?: number;
  /** Fewest source rows the checked range must have. */
  readonly minRows?: number;
}

export type FeatureInput =
  | ValueType
  | {
      type: ValueType;
      description?: string;
      nullable?: boolean;
      min?: number;
      max?: number;
      allowedValues?: (string | number | boolean)[];
    }
  | {
      /** Declared type of a derived feature; inferred from `expr` when left out. */
      type?: ValueType;
      /** Expression over source columns (docs/expressions.md), e.g. "monthly_charges * 12". */
      expr: string;
      description?: string;
      nullable?: boolean;
      min?: number;
      max?: number;
      allowedValues?: (string | number | boolean)[];
    };

export interface FeatureViewInput extends MetadataInput {
  name: string;
  entities: Entity[];
  source: Source;
  features: Record<string, FeatureInput>;
  ttl?: string;
  online?: boolean;
  schedule?: string;
  expectedFreshness?: string;
  quality?: QualityRules;
  status?: LifecycleStatus;
  leakageRisk?: string;
}

const kind: DefinitionKind = 'feature view';

export const freshnessField = z
  .string()
  .refine((text) => parseDuration(text) !== undefined, {
    error: (issue) => `${JSON.stringify(issue.input)} is not a duration`,
    params: { hint: 'write a whole number and a unit s, m, h, d or w, e.g. "12h"' },
  })
  .optional();

export const qualityField = z
  .strictObject({
    maxNullPercent: z.number().min(0).max(100).optional(),
    minRows: z.number().int().min(0).optional(),
  })
  .optional();

/** The view fields of `expectedFreshness`, when given. */
export function freshnessOf(expectedFreshness: string | undefined) {
  return expectedFreshness === undefined
    ? {}
    : {
        expectedFreshness,
        expectedFreshnessSeconds: parseDuration(expectedFreshness) as number,
      };
}

const constraintFields = {
  description: z.string().max(2000).optional(),
  nullable: z.boolean().optional(),
  min: z.number().finite().optional(),
  max: z.number().finite().optional(),
  allowedValues: z
    .array(z.union([z.string(), z.number(), z.boolean()]))
    .min(1, 'must list at least one value')
    .optional(),
};

const featureObject = z.strictObject({ type: valueType, ...constraintFields });

/** A derived feature: an expression over source columns, its type inferred unless declared. */
const derivedFeatureObject = z.strictObject({
  expr: z.string().min(1, 'must not be empty').max(maxExpressionLength),
  type: valueType.optional(),
  ...constraintFields,
});

const viewSchema = z.strictObject({
  name: identifier,
  entities: z
    .array(z.custom<Entity>(isEntity, 'must be an entity made with defineEntity()'))
    .min(1, 'needs at least one entity'),
  source: z.custom<Source>(isSource, 'must be a source made with defineSource()'),
  features: z.record(
    columnName,
    z.union([valueType, featureObject, derivedFeatureObject], {
      error:
        'must be a type such as "float64", { type, description, nullable, min, max, allowedValues } or { expr, type?, ... }',
    }),
  ),
  ttl: z
    .string()
    .refine((text) => parseDuration(text) !== undefined, {
      error: (issue) => `${JSON.stringify(issue.input)} is not a duration`,
      params: {
        hint: 'write a positive whole number and a unit s, m, h, d or w, e.g. "30d" or "12h"; leave ttl out for no expiry',
      },
    })
    .optional(),
  online: z.boolean().optional(),
  schedule: z.string().optional(),
  expectedFreshness: freshnessField,
  quality: qualityField,
  status: z
    .enum(lifecycleStatuses, {
      error: (issue) => `${JSON.stringify(issue.input)} is not a lifecycle status`,
    })
    .optional(),
  leakageRisk: z.string().max(2000).optional(),
  ...metadataFields,
});

export function defineFeatureView(input: FeatureViewInput): FeatureView {
  const parsed = parseDefinition(viewSchema, kind, input);
  const issues = new IssueCollector(definitionLabel(kind, input));
  const source = parsed.source;
  const sourceTypes = new Map(source.schema.map((c) => [c.name, c.type]));
  const columnList = source.schema.map((c) => c.name).join(', ');

  const joinKeyNames = checkEntities(issues, parsed.entities, source);

  const timestampColumns = new Set(
    [source.timestampField, source.createdTimestampField].filter(Boolean),
  );
  const features: FeatureSpec[] = Object.entries(parsed.features).map(([name, raw]) => {
    const spec: { type?: string; expr?: string } & z.infer<z.ZodObject<typeof constraintFields>> =
      typeof raw === 'string' ? { type: raw } : raw;
    const field = `features.${name}`;
    const derived =
      spec.expr === undefined ? undefined : derivedFeature(issues, field, spec, source);
    const type = spec.expr === undefined ? (spec.type as ValueType) : derived;
    if (joinKeyNames.has(name))
      issues.add(
        field,
        `"${name}" is a join key of this view and cannot also be a feature`,
        'remove it from features; join keys are returned with every row',
      );
    else if (timestampColumns.has(name))
      issues.add(
        field,
        `"${name}" is a timestamp column of source "${source.name}"; event times are returned with every value`,
        'remove it from features',
      );
    else if (spec.expr === undefined) {
      const columnType = sourceTypes.get(name);
      if (columnType === undefined)
        issues.add(
          field,
          `feature "${name}" is not a column of source "${source.name}" (${columnList})${didYouMean(name, sourceTypes.keys())}`,
          `add "${name}" to the source schema or fix the feature name`,
        );
      else if (type !== undefined && !canWiden(columnType, type))
        issues.add(
          `${field}.type`,
          `is ${type}, but source column "${name}" is ${columnType}`,
          `declare the feature as ${columnType}`,
        );
    }
    if (type !== undefined) checkConstraints(issues, field, type, spec);
    return {
      name,
      type: type ?? 'string', // only after an issue, thrown below
      ...(spec.expr !== undefined ? { expr: spec.expr } : {}),
      ...(spec.description !== undefined ? { description: spec.description } : {}),
      nullable: spec.nullable ?? true,
      ...(spec.min !== undefined ? { min: spec.min } : {}),
      ...(spec.max !== undefined ? { max: spec.max } : {}),
      ...(spec.allowedValues !== undefined ? { allowedValues: [...spec.allowedValues] } : {}),
    };
  });
  if (features.length === 0)
    issues.add('features', 'has no features', 'declare at least one feature');

  checkSchedule(issues, parsed.schedule, parsed.online);
  const ttlSeconds = parsed.ttl === undefined ? undefined : parseDuration(parsed.ttl);
  checkSourceRetention(
    issues,
    { transform: 'passthrough', online: parsed.online ?? false, ttl: parsed.ttl, ttlSeconds },
    source,
  );
  issues.throwIfAny();

  return finishView({
    kind: 'featureView' as const,
    transform: 'passthrough' as const,
    name: parsed.name,
    entities: [...parsed.entities],
    source,
    features,
    ...(parsed.ttl !== undefined ? { ttl: parsed.ttl, ttlSeconds } : {}),
    online: parsed.online ?? false,
    ...(parsed.schedule !== undefined ? { schedule: parsed.schedule } : {}),
    ...freshnessOf(parsed.expectedFreshness),
    ...(parsed.quality ? { quality: { ...parsed.quality } } : {}),
    status: parsed.status ?? 'active',
    ...(parsed.leakageRisk !== undefined ? { leakageRisk: parsed.leakageRisk } : {}),
    ...metadataOf(parsed),
  });
}

/**
 * Checks a derived feature's expression against the source schema; returns the feature's type
 * (the declared one, which must take the expression's type without loss, or the inferred one),
 * undefined after an issue.
 */
function derivedFeature(
  issues: IssueCollector,
  field: string,
  spec: { type?: string | undefined; expr?: string | undefined },
  source: Source,
): ValueType | undefined {
  const expression = spec.expr as string;
  try {
    const inferred = compileExpression(expression, source.schema).type;
    const declared = spec.type as ValueType | undefined;
    if (inferred === 'null') {
      if (declared === undefined)
        issues.add(
          `${field}.type`,
          `expression ${JSON.stringify(expression)} is always NULL, so it has no type`,
          'declare the type',
        );
      return declared;
    }
    if (declared !== undefined && !canWiden(inferred, declared)) {
      issues.add(
        `${field}.type`,
        `is ${declared}, but expression ${JSON.stringify(expression)} gives ${inferred}`,
        `declare the feature as ${inferred}, or leave the type out to infer it`,
      );
      return undefined;
    }
    return declared ?? inferred;
  } catch (error) {
    if (!(error instanceof ExpressionError)) throw error;
    issues.add(`${field}.expr`, error.message, error.hint);
    return undefined;
  }
}

/** Checks a view's entities against its source; returns the join-key names. */
export function checkEntities(
  issues: IssueCollector,
  entities: readonly Entity[],
  source: Source,
): Set<string> {
  const sourceTypes = new Map(source.schema.map((c) => [c.name, c.type]));
  const columnList = source.schema.map((c) => c.name).join(', ');
  const joinKeyNames = new Set<string>();
  entities.forEach((entity, index) => {
    if (
      entities.indexOf(entity) !== index ||
      entities.findIndex((e) => e.name === entity.name) !== index
    ) {
      issues.add(
        listItemField('entities', entity.name),
        `entity "${entity.name}" is listed twice`,
        'list each entity once',
      );
      return;
    }
    for (const key of entity.joinKeys) {
      if (joinKeyNames.has(key.name))
        issues.add(
          listItemField('entities', entity.name),
          `join key "${key.name}" of entity "${entity.name}" is also a join key of another entity of this view`,
          'give the entities distinct join-key names',
        );
      joinKeyNames.add(key.name);
      const columnType = sourceTypes.get(key.name);
      if (columnType === undefined)
        issues.add(
          listItemField('entities', entity.name),
          `join key "${key.name}" of entity "${entity.name}" is not a column of source "${source.name}" (${columnList})${didYouMean(key.name, sourceTypes.keys())}`,
          `add "${key.name}: '${key.type}'" to the source schema or map a raw column to it with fieldMapping`,
        );
      else if (columnType !== key.type)
        issues.add(
          listItemField('entities', entity.name),
          `join key "${key.name}" is ${key.type} in entity "${entity.name}" but ${columnType} in source "${source.name}"`,
          'make the types agree',
        );
    }
  });

  return joinKeyNames;
}

/** Checks the schedule expression, and that online views have one. */
export function checkSchedule(
  issues: IssueCollector,
  schedule: string | undefined,
  online: boolean | undefined,
): void {
  if (schedule !== undefined) {
    try {
      parseSchedule(schedule);
    } catch (error) {
      if (!(error instanceof ScheduleError)) throw error;
      issues.add('schedule', error.message, error.hint);
    }
  }
  if (online && schedule === undefined) {
    issues.add(
      'schedule',
      'is required when online is true (materialization needs a schedule)',
      'add e.g. schedule: "rate(6 hours)"',
    );
  }
}

/**
 * The features a view's `select()` names, all of the view's in order when it names none, each
 * frozen: what a feature view's and an on-demand view's selections hold.
 */
export function selectedFeatures(
  items: readonly SelectItem[] | undefined,
  features: readonly { readonly name: string }[],
): FeatureSelection['features'] {
  return Object.freeze(
    (items ?? features.map((f) => f.name)).map((item) =>
      Object.freeze(
        typeof item === 'string' ? { feature: item } : { feature: item.feature, alias: item.alias },
      ),
    ),
  );
}

/** Gives a validated view its `select()` and freezes it. */
export function finishView(fields: Omit<FeatureView, 'select'>): FeatureView {
  const view = { ...fields } as FeatureView;
  Object.defineProperty(view, 'select', {
    enumerable: false,
    value: (items?: readonly SelectItem[]): FeatureSelection =>
      Object.freeze({
        kind: 'featureSelection' as const,
        view,
        features: selectedFeatures(items, view.features),
      }),
  });
  return deepFreeze(view);
}

export function checkConstraints(
  issues: IssueCollector,
  field: string,
  type: ValueType,
  spec: { min?: number; max?: number; allowedValues?: (string | number | boolean)[] },
): void {
  if ((spec.min !== undefined || spec.max !== undefined) && !isNumericType(type)) {
    issues.add(
      `${field}.${spec.min !== undefined ? 'min' : 'max'}`,
      `min/max apply to numeric features, but this feature is ${type}`,
      'remove min/max or use allowedValues',
    );
  }
  if (spec.min !== undefined && spec.max !== undefined && spec.min > spec.max) {
    issues.add(
      `${field}.min`,
      `min ${spec.min} is greater than max ${spec.max}`,
      'swap them or fix one',
    );
  }
  if (spec.allowedValues === undefined) return;
  const expected =
    type === 'string'
      ? 'string'
      : isIntegerType(type)
        ? 'integer'
        : type === 'bool'
          ? 'boolean'
          : undefined;
  if (expected === undefined) {
    issues.add(
      `${field}.allowedValues`,
      `allowedValues apply to string, integer and bool features, but this feature is ${type}`,
      'use min/max for floats, or remove allowedValues',
    );
    return;
  }
  spec.allowedValues.forEach((value, index) => {
    const ok = expected === 'integer' ? Number.isInteger(value) : typeof value === expected;
    if (!ok)
      issues.add(
        `${field}.allowedValues.${index}`,
        `${JSON.stringify(value)} is not ${withArticle(expected)} value for ${withArticle(type)} feature`,
        `list ${expected} values only`,
      );
  });
  if (new Set(spec.allowedValues).size !== spec.allowedValues.length) {
    issues.add(`${field}.allowedValues`, 'lists a value more than once', 'list each value once');
  }
}

function withArticle(word: string): string {
  return `${/^[aeiou]/.test(word) ? 'an' : 'a'} ${word}`;
}

export function isFeatureView(value: unknown): value is FeatureView {
  return (value as FeatureView | null)?.kind === 'featureView';
}

export function isFeatureSelection(value: unknown): value is FeatureSelection {
  return (value as FeatureSelection | null)?.kind === 'featureSelection';
}
