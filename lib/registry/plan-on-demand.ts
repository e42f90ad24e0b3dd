import type { FieldChange } from './plan.ts';
import type { Registry, RegistryOnDemandView } from './registry-schema.ts';
import { stableStringify } from './stable-json.ts';

const same = (a: unknown, b: unknown) => stableStringify(a, 0) === stableStringify(b, 0);
const list = (names: readonly string[]) => names.map((n) => `"${n}"`).join(', ');

/** The feature services (of one registry) that serve features of on-demand view `view`. */
export function servicesOfOnDemandView(registry: Registry, view: string): string[] {
  return registry.featureServices
    .filter((s) => s.onDemandFeatures?.some((f) => f.view === view))
    .map((s) => s.name);
}

/**
 * What changed in an on-demand view. Nothing is stored for it, so a new transform or new inputs
 * are safe to deploy, but the values served change from then on: the services that serve them
 * are named (affectedServices), since a model trained on the old transform now sees other
 * values. A new or removed request field is breaking while a service serves the view: its
 * callers do not send it yet, or still send it and are refused.
 */
export function diffOnDemandView(
  before: RegistryOnDemandView,
  after: RegistryOnDemandView,
  applied: Registry,
): FieldChange[] {
  const users = servicesOfOnDemandView(applied, before.name);
  const changes: FieldChange[] = [];
  if (before.transformHash !== after.transformHash)
    changes.push({
      field: 'transform',
      action: 'change',
      from: before.transformHash,
      to: after.transformHash,
      level: 'safe',
      reason:
        'transform source changed: values are computed differently from now on; training sets made before hold the old values',
    });
  if (!same(before.inputs, after.inputs))
    changes.push({
      field: 'inputs',
      action: 'change',
      from: before.inputs.map((i) => `${i.view}.${i.feature}`),
      to: after.inputs.map((i) => `${i.view}.${i.feature}`),
      level: 'safe',
      reason: 'the transform reads other features from now on',
    });
  const oldRequest = new Map(before.request.map((f) => [f.name, f.type]));
  for (const field of after.request) {
    const previous = oldRequest.get(field.name);
    if (previous === field.type) continue;
    const breaking = users.length > 0;
    changes.push({
      field: `request.${field.name}`,
      action: previous === undefined ? 'add' : 'change',
      ...(previous === undefined ? {} : { from: previous }),
      to: field.type,
      level: breaking ? 'breaking' : 'safe',
      reason: breaking
        ? `callers of ${list(users)} do not send it ${previous === undefined ? 'yet' : 'as that type'}`
        : 'no service serves the view yet',
    });
  }
  // The lookup refuses a body with a field it does not know (400 UNKNOWN_KEY), so callers that
  // still send a removed field fail until they stop.
  for (const [name, type] of oldRequest)
    if (!after.request.some((f) => f.name === name))
      changes.push({
        field: `request.${name}`,
        action: 'remove',
        from: type,
        level: users.length > 0 ? 'breaking' : 'safe',
        reason:
          users.length > 0
            ? `callers of ${list(users)} that still send it are refused (400 UNKNOWN_KEY)`
            : 'no service serves the view yet',
      });
  const oldFeatures = new Map(before.features.map((f) => [f.name, f]));
  for (const feature of after.features) {
    const previous = oldFeatures.get(feature.name);
    if (!previous)
      changes.push({
        field: `features.${feature.name}`,
        action: 'add',
        to: feature.type,
        level: 'safe',
        reason: 'new feature',
      });
    else if (previous.type !== feature.type)
      changes.push({
        field: `features.${feature.name}.type`,
        action: 'change',
        from: previous.type,
        to: feature.type,
        level: 'breaking',
        reason: 'type change',
      });
  }
  for (const [name, feature] of oldFeatures) {
    if (after.features.some((f) => f.name === name)) continue;
    const readers = applied.featureServices
      .filter((s) => s.onDemandFeatures?.some((f) => f.view === before.name && f.feature === name))
      .map((s) => s.name);
    changes.push({
      field: `features.${name}`,
      action: 'remove',
      from: feature.type,
      level: readers.length > 0 ? 'breaking' : 'safe',
      reason:
        readers.length > 0
          ? `removed feature used by feature services ${list(readers)}`
          : 'removed feature no service used',
    });
  }
  for (const field of ['status', 'description', 'owner', 'tags', 'definedIn'] as const)
    if (!same(before[field], after[field]))
      changes.push({
        field,
        action: 'change',
        from: before[field],
        to: after[field],
        level: 'metadata',
        reason: 'metadata only',
      });
  return changes;
}
