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
import {
  type FeatureStatus,
  type FetchedLookup,
  featureResults,
  type LookupRequest,
} from '../online/online-lookup.ts';
import type { RuntimeFeatureService, RuntimeRegistry } from '../registry/runtime-projection.ts';
import { ApiError } from './api-error.ts';
import type { LookupStats, LookupTarget } from './lookup-response-json.ts';

interface AnswerFeature {
  readonly value: unknown;
  readonly status: FeatureStatus | 'TRANSFORM_ERROR';
  readonly event_timestamp: string | null;
  /** Why the transform gave no value (TRANSFORM_ERROR only). */
  readonly error?: string;
}

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
  const stored = featureResults(lookup);
  const stats = {
    entities: lookup.entities.length,
    features: 0,
    notFound: 0,
    outsideTtl: 0,
    nullValues: 0,
  };
  const results = stored.map((found, index) => {
    const features: Record<string, AnswerFeature> = {};
    for (const [name, result] of Object.entries(found)) {
      if (isInputName(name)) continue;
      features[name] = result;
      stats.features += 1;
      if (result.status === 'NOT_FOUND') stats.notFound += 1;
      else if (result.status === 'OUTSIDE_TTL') stats.outsideTtl += 1;
      else if (result.status === 'NULL_VALUE') stats.nullValues += 1;
    }
    for (const { view, transform, features: wanted } of part.views) {
      // Checked between calls: one call itself is not bounded (it runs synchronously).
      if (deadline && deadline.timeLeftMs() <= 0)
        throw new TransformDeadlineExceededError(
          `on-demand transforms ran past the lookup deadline (${deadline.budgetMs} ms) before entity ${index}`,
          deadline.attempts,
        );
      const row: Record<string, TransformValue> = { ...request[index] };
      for (const input of view.inputs)
        row[input.name] = transformInput(
          input.type,
          found[inputName(input.view, input.feature)]?.value,
        );
      stats.features += wanted.length;
      try {
        const outputs = runTransform(transform, row, view.features);
        for (const f of wanted) {
          const value = outputs[f.feature] ?? null;
          if (value === null) stats.nullValues += 1;
          features[f.outputName] = {
            value,
            status: value === null ? 'NULL_VALUE' : 'PRESENT',
            event_timestamp: null,
          };
        }
      } catch (error) {
        if (!(error instanceof TransformError)) throw error;
        for (const f of wanted)
          features[f.outputName] = {
            value: null,
            status: 'TRANSFORM_ERROR',
            event_timestamp: null,
            error: `${view.name}: ${error.message}`,
          };
      }
    }
    return { entity: lookup.entities[index], features };
  });
  return {
    body: JSON.stringify({ [target.kind]: target.name, results }),
    stats,
  };
}
