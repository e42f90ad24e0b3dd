import { z } from 'zod';
import { didYouMean } from '../closest-names.ts';
import { impureReadOf } from '../on-demand/purity-check.ts';
import { registerTransform } from '../on-demand/transform-catalog.ts';
import {
  isOnDemandValueType,
  type OnDemandValueType,
  onDemandValueTypes,
  type TransformFunction,
  type TransformRow,
  type TransformValue,
} from '../on-demand/transform-values.ts';
import type { Entity } from './entity.ts';
import { listItemField } from './errors.ts';
import {
  checkConstraints,
  type FeatureSelection,
  type FeatureSpec,
  type FeatureView,
  isFeatureSelection,
  type LifecycleStatus,
  lifecycleStatuses,
  type SelectItem,
  selectedFeatures,
} from './feature-view.ts';
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
} from './schema-parts.ts';

/** One input feature of an on-demand view: a feature of a view, read under `name` in the row. */
export interface OnDemandInput {
  readonly view: FeatureView;
  readonly feature: string;
  /** The key the transform reads it under: the alias, else the feature's name. */
  readonly name: string;
  readonly type: OnDemandValueType;
}

/** A value the caller sends with each entity (lookups) or each entity row (training sets). */
export interface RequestField {
  readonly name: string;
  readonly type: OnDemandValueType;
}

/**
 * Features computed at request time by one pure TypeScript function from request values and
 * looked-up features; the same function runs in the lookup API and over training sets.
 */
export interface OnDemandView extends DefinitionMetadata {
  readonly kind: 'onDemandView';
  readonly name: string;
  readonly request: readonly RequestField[];
  readonly inputs: readonly OnDemandInput[];
  readonly features: readonly (FeatureSpec & { readonly type: OnDemandValueType })[];
  /** The entities of the input views: their join keys identify a row. */
  readonly entities: readonly Entity[];
  readonly transform: TransformFunction;
  /** The transform's source text (Function.prototype.toString), hashed into the registry. */
  readonly transformSource: string;
  readonly status: LifecycleStatus;
  /** Picks features of this view for a feature service; no argument picks all of them. */
  select(features?: readonly SelectItem[]): OnDemandSelection;
}

export interface OnDemandSelection {
  readonly kind: 'onDemandSelection';
  readonly view: OnDemandView;
  readonly features: readonly { readonly feature: string; readonly alias?: string }[];
}

type OutputInput =
  | OnDemandValueType
  | {
      type: OnDemandValueType;
      description?: string;
      nullable?: boolean;
      min?: number;
      max?: number;
      allowedValues?: (string | number | boolean)[];
    };

export interface OnDemandViewInput extends MetadataInput {
  name: string;
  /** Values the caller sends, by name: `{ basket_amount: 'float64' }`. */
  request?: Record<string, OnDemandValueType>;
  /** Features the transform reads: `view.select([...])`, aliased where names collide. */
  inputs: FeatureSelection[];
  features: Record<string, OutputInput>;
  // biome-ignore lint/suspicious/noExplicitAny: the row's keys are the author's, typed by use.
  transform: (row: any) => Record<string, unknown>;
  status?: LifecycleStatus;
}

const kind: DefinitionKind = 'on-demand view';
const typesText = onDemandValueTypes.join(', ');

const onDemandType = z.string({ error: 'must be a type name' }).refine(isOnDemandValueType, {
  error: (issue) => `type ${JSON.stringify(issue.input)} is not supported in on-demand views`,
  params: { hint: `use one of ${typesText}` },
});

const outputObject = z.strictObject({
  type: onDemandType,
  description: z.string().max(2000).optional(),
  nullable: z.boolean().optional(),
  min: z.number().finite().optional(),
  max: z.number().finite().optional(),
  allowedValues: z
    .array(z.union([z.string(), z.number(), z.boolean()]))
    .min(1, 'must list at least one value')
    .optional(),
});

const onDemandSchema = z.strictObject({
  name: identifier,
  request: z.record(columnName, onDemandType).optional(),
  inputs: z
    .array(
      z.custom<FeatureSelection>(
        isFeatureSelection,
        'must be view.select([...]) of a feature view (on-demand views cannot feed each other)',
      ),
    )
    .min(1, 'needs at least one input selection'),
  features: z.record(
    columnName,
    z.union([onDemandType, outputObject], {
      error: `must be a type (${typesText}) or { type, description, nullable, min, max, allowedValues }`,
    }),
  ),
  transform: z.custom<TransformFunction>(
    (value) => typeof value === 'function',
    'must be a function (row) => ({ feature: value, ... })',
  ),
  status: z
    .enum(lifecycleStatuses, {
      error: (issue) => `${JSON.stringify(issue.input)} is not a lifecycle status`,
    })
    .optional(),
  ...metadataFields,
});

export function defineOnDemandView(input: OnDemandViewInput): OnDemandView {
  const parsed = parseDefinition(onDemandSchema, kind, input);
  const issues = new IssueCollector(definitionLabel(kind, input));
  const request: RequestField[] = Object.entries(parsed.request ?? {}).map(([name, type]) => ({
    name,
    type: type as OnDemandValueType,
  }));

  const inputs = collectInputs(issues, parsed.inputs);
  const entities = [...new Set(inputs.flatMap((i) => i.view.entities))];
  const joinKeys = new Map(
    entities.flatMap((e) => e.joinKeys.map((k) => [k.name, e.name] as const)),
  );
  const inputNames = new Map(inputs.map((i) => [i.name, `${i.view.name}.${i.feature}`]));
  for (const field of request) {
    const entity = joinKeys.get(field.name);
    const input = inputNames.get(field.name);
    if (entity !== undefined)
      issues.add(
        `request.${field.name}`,
        `"${field.name}" is a join key of entity "${entity}"; a request value would be sent beside it under the same name`,
        'rename the request field',
      );
    else if (input !== undefined)
      issues.add(
        `request.${field.name}`,
        `"${field.name}" is also the input ${input} in the transform's row`,
        `rename the request field, or alias the input, e.g. select([{ feature: '${field.name}', alias: 'stored_${field.name}' }])`,
      );
  }

  const features = Object.entries(parsed.features).map(([name, raw]) => {
    const spec = typeof raw === 'string' ? { type: raw } : raw;
    const type = spec.type as OnDemandValueType;
    checkConstraints(issues, `features.${name}`, type, spec);
    return {
      name,
      type,
      ...(spec.description !== undefined ? { description: spec.description } : {}),
      nullable: spec.nullable ?? true,
      ...(spec.min !== undefined ? { min: spec.min } : {}),
      ...(spec.max !== undefined ? { max: spec.max } : {}),
      ...(spec.allowedValues !== undefined ? { allowedValues: [...spec.allowedValues] } : {}),
    };
  });
  if (features.length === 0)
    issues.add('features', 'has no features', 'declare at least one output feature');

  const transform = parsed.transform;
  checkTransform(issues, transform, request, inputs);
  issues.throwIfAny();

  const view = {
    kind: 'onDemandView' as const,
    name: parsed.name,
    request,
    inputs,
    features,
    entities,
    transform,
    transformSource: Function.prototype.toString.call(transform),
    status: parsed.status ?? 'active',
    ...metadataOf(parsed),
  } as unknown as OnDemandView;
  Object.defineProperty(view, 'select', {
    enumerable: false,
    value: (items?: readonly SelectItem[]): OnDemandSelection =>
      Object.freeze({
        kind: 'onDemandSelection' as const,
        view,
        features: selectedFeatures(items, view.features),
      }),
  });
  // The transform stays a live function: deepFreeze would freeze it and its prototype object.
  Object.defineProperty(view, 'transform', { enumerable: false, value: transform });
  registerTransform(view.name, transform, view.transformSource);
  return deepFreeze(view);
}

function collectInputs(
  issues: IssueCollector,
  selections: readonly FeatureSelection[],
): OnDemandInput[] {
  const inputs: OnDemandInput[] = [];
  const byName = new Map<string, string>();
  for (const selection of selections) {
    const { view } = selection;
    const available = new Map(view.features.map((f) => [f.name, f.type]));
    if (selection.features.length === 0)
      issues.add(
        listItemField('inputs', view.name),
        `selects no features of view "${view.name}"`,
        'name at least one feature',
      );
    for (const item of selection.features) {
      const field = `${listItemField('inputs', view.name)}.${item.feature}`;
      const type = available.get(item.feature);
      if (type === undefined) {
        issues.add(
          field,
          `view "${view.name}" has no feature "${item.feature}" (it has ${[...available.keys()].join(', ')})${didYouMean(item.feature, available.keys())}`,
          'fix the feature name or add the feature to the view',
        );
        continue;
      }
      if (!isOnDemandValueType(type)) {
        issues.add(
          field,
          `feature ${view.name}.${item.feature} is ${type}, which on-demand transforms do not read yet`,
          `select features of type ${typesText}`,
        );
        continue;
      }
      const name = item.alias ?? item.feature;
      const producer = `${view.name}.${item.feature}`;
      const earlier = byName.get(name);
      if (earlier !== undefined) {
        issues.add(
          field,
          `the row would hold "${name}" from both ${earlier} and ${producer}`,
          `alias one of them, e.g. ${view.name}.select([{ feature: '${item.feature}', alias: '${view.name}_${item.feature}' }])`,
        );
        continue;
      }
      byName.set(name, producer);
      inputs.push({ view, feature: item.feature, name, type });
    }
  }
  return inputs;
}

const asyncKinds = ['AsyncFunction', 'AsyncGeneratorFunction', 'GeneratorFunction'];

function checkTransform(
  issues: IssueCollector,
  transform: TransformFunction,
  request: readonly RequestField[],
  inputs: readonly OnDemandInput[],
): void {
  const kindName = Object.getPrototypeOf(transform)?.constructor?.name as string | undefined;
  if (kindName !== undefined && asyncKinds.includes(kindName)) {
    issues.add(
      'transform',
      `is ${kindName === 'AsyncFunction' ? 'an async function' : 'a generator'}; transforms run synchronously over each row`,
      'write a plain (row) => ({ ... }) function with no await or I/O',
    );
    return;
  }
  const read = impureReadOf(transform, sampleRows(request, inputs));
  if (read !== undefined)
    issues.add(
      'transform',
      `reads ${read} (found in a test run with the clock and random sources frozen); a transform must be pure, giving the same outputs for the same row`,
      'send the time or a random value as a request field instead',
    );
}

/** Rows for the purity test run: typical values, then every input missing (null). */
function sampleRows(
  request: readonly RequestField[],
  inputs: readonly OnDemandInput[],
): TransformRow[] {
  const sample = (type: OnDemandValueType): TransformValue =>
    type === 'string' ? 'a' : type === 'bool' ? true : type.startsWith('int') ? 1 : 1.5;
  const requestValues = Object.fromEntries(request.map((f) => [f.name, sample(f.type)]));
  return [
    { ...requestValues, ...Object.fromEntries(inputs.map((i) => [i.name, sample(i.type)])) },
    { ...requestValues, ...Object.fromEntries(inputs.map((i) => [i.name, null])) },
  ];
}

export function isOnDemandView(value: unknown): value is OnDemandView {
  return (value as OnDemandView | null)?.kind === 'onDemandView';
}

export function isOnDemandSelection(value: unknown): value is OnDemandSelection {
  return (value as OnDemandSelection | null)?.kind === 'onDemandSelection';
}
