import { type OnDemandPart, onDemandView } from '../on-demand/plan-on-demand.ts';
import { TransformDeadlineExceededError } from '../on-demand/transform-deadline.ts';
import {
  requestValueProblem,
  runTransform,
  TransformError,
  type TransformValue,
  transformInput,
} from '../on-demand/transform-values.ts';
import type { Deadline } from '../online/dynamodb-batch-get/deadline.ts';
import { decodeValue, itemAttributes } from '../online/item-codec.ts';
import type { ItemStatus, PlannedFeature } from '../online/lookup-plan.ts';
import type { FetchedLookup, LookupRequest } from '../online/online-lookup.ts';
import type { RuntimeFeatureService, RuntimeRegistry } from '../registry/runtime-projection.ts';
import { ApiError } from './api-error.ts';
import { type LookupStats, type LookupTarget, lookupResponseJson } from './lookup-response-json.ts';

/** Output names of inputs fetched for transforms only; never valid feature names, never answered. */
const inputName = (view: string, feature: string) => `\u0000${view}.${feature}`;
const isInputName = (name: string) => name.startsWith('\u0000');

export { type OnDemandPart, planOnDemand } from '../on-demand/plan-on-demand.ts';

/** Names every request field of the service's on-demand views, for the body check. */
export function requestFieldNames(
  registry: RuntimeRegistry,
  service: RuntimeFeatureService,
): string[] {
  const names = new Set<string>();
  for (const f of service.onDemandFeatures ?? [])
    for (const field of onDemandView(registry, f.view).request) names.add(field.name);
  return [...names];
}

/**
 * Checks each entity's request values for the views computed (400 naming the entity index and
 * field) and returns them typed for the transforms.
 */
export function requestValues(
  part: OnDemandPart,
  entities: readonly Readonly<Record<string, unknown>>[],
): Record<string, TransformValue>[] {
  const fields = new Map(part.views.flatMap(({ view }) => view.request.map((f) => [f.name, f])));
  return entities.map((entity, index) => {
    const values: Record<string, TransformValue> = {};
    for (const field of fields.values()) {
      const path = `$.entities[${index}].${field.name}`;
      const value = Object.hasOwn(entity, field.name) ? entity[field.name] : undefined;
      if (value === undefined)
        throw new ApiError(
          400,
          'MISSING_REQUEST_VALUE',
          `${path}: request value "${field.name}" (${field.type}) is missing; on-demand features need it`,
          { path },
        );
      const problem = requestValueProblem(field.type, value);
      if (problem)
        throw new ApiError(400, 'INVALID_REQUEST_VALUE', `${path}: ${problem}`, { path });
      values[field.name] = transformInput(field.type, value);
    }
    return values;
  });
}

/** The lookup request with the inputs of the on-demand views added under hidden names. */
export function withInputs(request: LookupRequest, part: OnDemandPart): LookupRequest {
  const views = request.views.map((v) => ({ view: v.view, features: [...v.features] }));
  for (const { view } of part.views)
    for (const input of view.inputs) {
      const outputName = inputName(input.view, input.feature);
      let group = views.find((v) => v.view === input.view);
      if (!group) {
        group = { view: input.view, features: [] };
        views.push(group);
      }
      if (!group.features.some((f) => f.outputName === outputName))
        group.features.push({ feature: input.feature, outputName });
    }
  return { views, entities: request.entities };
}

/**
 * The answer of a service lookup with on-demand features: the stored features as
 * lookupResponseJson writes them, then each on-demand feature, computed by its transform from
 * the entity's request values and inputs. A transform that throws or returns a wrong value gives
 * that entity's features of that view the status TRANSFORM_ERROR with the message; the other
 * entities and features are served. On-demand values have no event time (null). Past
 * `deadline`, no further transform starts: TransformDeadlineExceededError (503 DEADLINE_EXCEEDED).
 */
export function onDemandResponseJson(
  target: LookupTarget,
  lookup: FetchedLookup,
  part: OnDemandPart,
  request: readonly Record<string, TransformValue>[],
  deadline?: Deadline,
): { body: string; stats: LookupStats } {
  const views = part.views.map(({ view, transform, features }) => ({
    view,
    transform,
    inputs: view.inputs.map((input) => ({
      name: input.name,
      type: input.type,
      ...readInput(lookup, inputName(input.view, input.feature)),
    })),
    features: features.map((f) => ({
      feature: f.feature,
      keyJson: `${JSON.stringify(f.outputName)}:{`,
    })),
  }));
  // Request field names, to copy each entity's values into a fresh row: a spread copy
  // (`{ ...values }`) that then gains the inputs' keys costs ~50× more in V8 (1.8 µs a row).
  const requestNames = [
    ...new Set(part.views.flatMap(({ view }) => view.request.map((f) => f.name))),
  ];
  let computed = 0;
  let nullValues = 0;
  // Each entity's on-demand members, written after its stored features, as JSON text.
  const members = (index: number, first: boolean, statuses: readonly ItemStatus[]): string => {
    let text = '';
    let separator = first ? '' : ',';
    for (const { view, transform, inputs, features: wanted } of views) {
      // Checked between calls: one call itself is not bounded (it runs synchronously).
      if (deadline && deadline.timeLeftMs() <= 0)
        throw new TransformDeadlineExceededError(
          `on-demand transforms ran past the lookup deadline (${deadline.budgetMs} ms) before entity ${index}`,
          deadline.attempts,
        );
      const values = request[index] ?? {};
      const row: Record<string, TransformValue> = {};
      for (const name of requestNames) row[name] = values[name] ?? null;
      for (const input of inputs)
        row[input.name] = transformInput(
          input.type,
          inputValue(lookup, index, input, statuses[input.viewIndex]),
        );
      computed += wanted.length;
      try {
        const outputs = runTransform(transform, row, view.features);
        for (const f of wanted) {
          const value = outputs[f.feature] ?? null;
          if (value === null) nullValues += 1;
          text += `${separator}${f.keyJson}"value":${value === null ? 'null,"status":"NULL_VALUE"' : `${outputJson(value)},"status":"PRESENT"`},"event_timestamp":null}`;
          separator = ',';
        }
      } catch (error) {
        if (!(error instanceof TransformError)) throw error;
        const message = JSON.stringify(`${view.name}: ${error.message}`);
        for (const f of wanted) {
          text += `${separator}${f.keyJson}"value":null,"status":"TRANSFORM_ERROR","event_timestamp":null,"error":${message}}`;
          separator = ',';
        }
      }
    }
    return text;
  };
  const { body, stats } = lookupResponseJson(target, lookup, {
    hidden: (feature) => isInputName(feature.outputName),
    members,
  });
  return {
    body,
    stats: {
      ...stats,
      features: stats.features + computed,
      nullValues: stats.nullValues + nullValues,
    },
  };
}

/**
 * An output's JSON text; -0 as `-0` (JSON.stringify writes 0), as stored features are answered
 * and as a training set's Parquet keeps it.
 */
function outputJson(value: string | number | boolean): string {
  return Object.is(value, -0) ? '-0' : JSON.stringify(value);
}

/** Where a hidden input was read: its view's place in the lookup and its planned feature. */
interface InputRead {
  readonly viewIndex: number;
  readonly feature: PlannedFeature;
}

function readInput(lookup: FetchedLookup, outputName: string): InputRead {
  for (const [viewIndex, { features }] of lookup.views.entries()) {
    const feature = features.find((f) => f.outputName === outputName);
    if (feature) return { viewIndex, feature };
  }
  throw new Error(`internal: the lookup did not read the on-demand input ${outputName}`);
}

/**
 * An input's value for one entity, as featureResults gives it (NOT_FOUND: its no-rows value);
 * `status` is its item's, as lookupResponseJson worked it out.
 */
function inputValue(
  lookup: FetchedLookup,
  entity: number,
  input: InputRead,
  status: ItemStatus | undefined,
): unknown {
  const item = lookup.items[entity * lookup.views.length + input.viewIndex];
  if (status === undefined)
    throw new Error(`internal: no item status for entity ${entity} of an on-demand input's view`);
  if (status === 'NOT_FOUND') return input.feature.valueIfNoRows;
  if (status === 'OUTSIDE_TTL') return null;
  return decodeValue(
    input.feature.type,
    item?.[itemAttributes.features]?.M?.[input.feature.feature],
  );
}
