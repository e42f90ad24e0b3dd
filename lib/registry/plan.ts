import { lineageGraph, nodeId, servicesDownstream } from './lineage.ts';
import { diffOnDemandView, servicesOfOnDemandView } from './plan-on-demand.ts';
import { streamChanges } from './plan-stream.ts';
import type {
  Registry,
  RegistryEntity,
  RegistryFeatureService,
  RegistryFeatureView,
  RegistrySource,
} from './registry-schema.ts';
import { stableStringify } from './stable-json.ts';

/**
 * How a change affects what is stored and who consumes it:
 * - metadata: descriptions, owners, tags, ttl, schedules, constraints; nothing stored changes.
 * - safe: additive (new definitions, new features or columns); may create a new view version.
 * - breaking: existing data or consumers stop matching (types, keys, removals still in use).
 */
export type ChangeLevel = 'metadata' | 'safe' | 'breaking';
export type DefinitionKind =
  | 'entity'
  | 'source'
  | 'featureView'
  | 'onDemandView'
  | 'featureService';

export interface FieldChange {
  readonly field: string;
  readonly action: 'add' | 'remove' | 'change';
  readonly from?: unknown;
  readonly to?: unknown;
  readonly level: ChangeLevel;
  readonly reason: string;
}

export interface DefinitionChange {
  readonly kind: DefinitionKind;
  readonly name: string;
  readonly action: 'add' | 'remove' | 'change';
  readonly level: ChangeLevel;
  readonly reason?: string;
  readonly fields: readonly FieldChange[];
  /** For views: schema version before and after, when it changed. */
  readonly version?: { readonly from?: string; readonly to?: string };
  /** Feature services that read this definition (in the applied or the new registry). */
  readonly affectedServices?: readonly string[];
}

export interface RegistryPlan {
  readonly fromVersion?: string;
  readonly toVersion: string;
  readonly changes: readonly DefinitionChange[];
  readonly counts: Readonly<Record<ChangeLevel, number>>;
  readonly hasBreaking: boolean;
}

const rank: Record<ChangeLevel, number> = { metadata: 0, safe: 1, breaking: 2 };
const highest = (levels: readonly ChangeLevel[]): ChangeLevel =>
  levels.reduce<ChangeLevel>((a, b) => (rank[b] > rank[a] ? b : a), 'metadata');
const same = (a: unknown, b: unknown) => stableStringify(a, 0) === stableStringify(b, 0);

/** Compares the registry last applied (undefined: nothing applied yet) with a newly compiled one. */
export function planRegistryChanges(previous: Registry | undefined, next: Registry): RegistryPlan {
  const before: Registry = previous ?? {
    ...next,
    entities: [],
    sources: [],
    featureViews: [],
    featureServices: [],
    onDemandViews: [],
  };
  const usage = new UsageIndex(before);
  const changes = [
    ...diffNamed('entity', before.entities, next.entities, {
      removed: () => ({ level: 'safe', reason: 'no view uses it any more' }),
      changed: diffEntity,
    }),
    ...diffNamed('source', before.sources, next.sources, {
      removed: () => ({
        level: 'safe',
        reason: 'no view reads it any more; its offline data is kept',
      }),
      changed: (a, b) => diffSource(a, b, usage),
    }),
    ...diffNamed('featureView', before.featureViews, next.featureViews, {
      removed: (view) => {
        const users = usage.servicesOfView(view.name);
        return users.length > 0
          ? { level: 'breaking', reason: `feature services ${list(users)} used it` }
          : { level: 'safe', reason: 'no feature service used it' };
      },
      changed: (a, b) => diffView(a, b, usage),
    }),
    ...diffNamed('onDemandView', before.onDemandViews ?? [], next.onDemandViews ?? [], {
      removed: (view) => {
        const users = servicesOfOnDemandView(before, view.name);
        return users.length > 0
          ? { level: 'breaking', reason: `feature services ${list(users)} used it` }
          : { level: 'safe', reason: 'no feature service used it' };
      },
      changed: (a, b) => diffOnDemandView(a, b, before),
    }),
    ...diffNamed('featureService', before.featureServices, next.featureServices, {
      removed: () => ({
        level: 'breaking',
        reason: 'models calling this service lose their features',
      }),
      changed: diffService,
    }),
  ];
  const counts = { metadata: 0, safe: 0, breaking: 0 };
  for (const change of changes) counts[change.level] += 1;
  const graphs = [lineageGraph(before), lineageGraph(next)];
  const withImpact = changes.map((change): DefinitionChange => {
    if (change.kind === 'featureService') return change;
    if (change.kind === 'onDemandView') {
      const services = [
        ...new Set([before, next].flatMap((r) => servicesOfOnDemandView(r, change.name))),
      ].sort();
      return services.length > 0 ? { ...change, affectedServices: services } : change;
    }
    const id = nodeId[change.kind](change.name);
    const services = [...new Set(graphs.flatMap((g) => servicesDownstream(g, id)))].sort();
    return services.length > 0 ? { ...change, affectedServices: services } : change;
  });
  return {
    ...(previous ? { fromVersion: previous.version } : {}),
    toVersion: next.version,
    changes: withImpact,
    counts,
    hasBreaking: counts.breaking > 0,
  };
}

interface DiffRules<T> {
  removed: (item: T) => { level: ChangeLevel; reason: string };
  changed: (before: T, after: T) => FieldChange[];
}

function diffNamed<T extends { name: string }>(
  kind: DefinitionKind,
  before: readonly T[],
  after: readonly T[],
  rules: DiffRules<T>,
): DefinitionChange[] {
  const old = new Map(before.map((item) => [item.name, item]));
  const now = new Map(after.map((item) => [item.name, item]));
  const changes: DefinitionChange[] = [];
  for (const item of after) {
    const previous = old.get(item.name);
    if (!previous) {
      changes.push({
        kind,
        name: item.name,
        action: 'add',
        level: 'safe',
        reason: 'new',
        fields: [],
        ...viewVersion(undefined, item),
      });
      continue;
    }
    const fields = rules.changed(previous, item);
    if (fields.length === 0) continue;
    changes.push({
      kind,
      name: item.name,
      action: 'change',
      level: highest(fields.map((f) => f.level)),
      fields,
      ...viewVersion(previous, item),
    });
  }
  for (const item of before) {
    if (now.has(item.name)) continue;
    const { level, reason } = rules.removed(item);
    changes.push({ kind, name: item.name, action: 'remove', level, reason, fields: [] });
  }
  return changes;
}

function viewVersion(before: unknown, after: unknown): Pick<DefinitionChange, 'version'> {
  const from = (before as { version?: unknown } | undefined)?.version;
  const to = (after as { version?: unknown }).version;
  if (typeof to !== 'string' || from === to) return {};
  return { version: { ...(typeof from === 'string' ? { from } : {}), to } };
}

class UsageIndex {
  constructor(private readonly registry: Registry) {}

  servicesOfView(view: string): string[] {
    return this.registry.featureServices
      .filter((s) => s.features.some((f) => f.view === view))
      .map((s) => s.name);
  }

  servicesOfFeature(view: string, feature: string): string[] {
    return this.registry.featureServices
      .filter((s) => s.features.some((f) => f.view === view && f.feature === feature))
      .map((s) => s.name);
  }

  onlineServicesOfView(view: string): string[] {
    return this.registry.featureServices
      .filter((s) => s.online && s.features.some((f) => f.view === view))
      .map((s) => s.name);
  }

  viewsOfSource(source: string): string[] {
    return this.registry.featureViews.filter((v) => v.source === source).map((v) => v.name);
  }

  viewsOfColumn(source: string, column: string): string[] {
    return this.registry.featureViews
      .filter(
        (v) =>
          v.source === source &&
          (v.features.some((f) => f.name === column) || v.joinKeys.some((k) => k.name === column)),
      )
      .map((v) => v.name);
  }
}

/** Removing something is breaking while something in the applied registry still uses it. */
function removal(
  field: string,
  from: unknown,
  users: readonly string[],
  usedReason: string,
  unusedReason: string,
): FieldChange {
  return users.length > 0
    ? { field, action: 'remove', from, level: 'breaking', reason: `${usedReason} ${list(users)}` }
    : { field, action: 'remove', from, level: 'safe', reason: unusedReason };
}

function list(names: readonly string[]): string {
  return names.map((n) => `"${n}"`).join(', ');
}

function metadataChanges<T extends object>(
  before: T,
  after: T,
  fields: readonly (keyof T & string)[],
): FieldChange[] {
  return fields
    .filter((field) => !same(before[field], after[field]))
    .map((field) => ({
      field,
      action: 'change',
      from: before[field],
      to: after[field],
      level: 'metadata',
      reason: 'metadata only',
    }));
}

const commonMetadata = ['description', 'owner', 'tags', 'definedIn'] as const;

function diffEntity(before: RegistryEntity, after: RegistryEntity): FieldChange[] {
  const changes = metadataChanges(before, after, commonMetadata);
  if (!same(before.joinKeys, after.joinKeys)) {
    changes.unshift({
      field: 'joinKeys',
      action: 'change',
      from: before.joinKeys,
      to: after.joinKeys,
      level: 'breaking',
      reason: 'key change: stored rows and online items are keyed differently',
    });
  }
  return changes;
}

function diffSource(
  before: RegistrySource,
  after: RegistrySource,
  usage: UsageIndex,
): FieldChange[] {
  const changes: FieldChange[] = [];
  for (const field of ['timestampField', 'createdTimestampField'] as const) {
    if (before[field] !== after[field]) {
      changes.push({
        field,
        action: 'change',
        from: before[field],
        to: after[field],
        level: 'breaking',
        reason: 'timestamp column change: point-in-time results change for stored data',
      });
    }
  }
  const oldColumns = new Map(before.schema.map((c) => [c.name, c.type]));
  const newColumns = new Map(after.schema.map((c) => [c.name, c.type]));
  for (const [name, type] of newColumns) {
    const previous = oldColumns.get(name);
    if (previous === undefined)
      changes.push({
        field: `schema.${name}`,
        action: 'add',
        to: type,
        level: 'safe',
        reason: 'new column; rows ingested earlier read it as NULL',
      });
    else if (previous !== type)
      changes.push({
        field: `schema.${name}`,
        action: 'change',
        from: previous,
        to: type,
        level: 'breaking',
        reason: 'type change: stored files hold the old type',
      });
  }
  for (const [name, type] of oldColumns) {
    if (newColumns.has(name)) continue;
    const views = usage.viewsOfColumn(before.name, name);
    changes.push(
      removal(
        `schema.${name}`,
        type,
        views,
        'removed column used by views',
        'removed column no view used',
      ),
    );
  }
  if (!same(before.fieldMapping, after.fieldMapping)) {
    changes.push({
      field: 'fieldMapping',
      action: 'change',
      from: before.fieldMapping,
      to: after.fieldMapping,
      level: 'safe',
      reason: 'applies to future ingests; stored rows keep their columns',
    });
  }
  if (before.filter !== after.filter) {
    const views = usage.viewsOfSource(before.name);
    changes.push({
      field: 'filter',
      action:
        before.filter === undefined ? 'add' : after.filter === undefined ? 'remove' : 'change',
      from: before.filter,
      to: after.filter,
      level: views.length > 0 ? 'breaking' : 'safe',
      reason:
        views.length > 0
          ? `row filter change: views ${list(views)} read other rows (new view versions)`
          : 'row filter change; no view reads the source',
    });
  }
  if (before.retention !== after.retention)
    changes.push({
      field: 'retention',
      action:
        before.retention === undefined
          ? 'add'
          : after.retention === undefined
            ? 'remove'
            : 'change',
      from: before.retention,
      to: after.retention,
      level: 'safe',
      reason:
        after.retentionSeconds !== undefined &&
        (before.retentionSeconds === undefined || after.retentionSeconds < before.retentionSeconds)
          ? `the next fstore retention deletes rows older than ${after.retention} offline (no undo)`
          : 'rows already deleted stay deleted; later ones are kept longer',
    });
  changes.push(...streamChanges(before, after));
  return [...changes, ...metadataChanges(before, after, commonMetadata)];
}

function diffView(
  before: RegistryFeatureView,
  after: RegistryFeatureView,
  usage: UsageIndex,
): FieldChange[] {
  const changes: FieldChange[] = [];
  const breaking = (field: keyof RegistryFeatureView, reason: string) => {
    if (!same(before[field], after[field]))
      changes.push({
        field,
        action: 'change',
        from: before[field],
        to: after[field],
        level: 'breaking',
        reason,
      });
  };
  breaking('joinKeys', 'key change: stored rows and online items are keyed differently');
  breaking('entities', 'entity change: consumers look it up by other keys');
  breaking('source', 'source change: values come from other data');
  breaking('transform', 'transform change: values are computed differently');

  const oldFeatures = new Map(before.features.map((f) => [f.name, f]));
  const newFeatures = new Map(after.features.map((f) => [f.name, f]));
  for (const [name, feature] of newFeatures) {
    const previous = oldFeatures.get(name);
    if (!previous) {
      changes.push({
        field: `features.${name}`,
        action: 'add',
        to: feature.type,
        level: 'safe',
        reason: 'new feature (new view version; online items are re-materialized)',
      });
      continue;
    }
    if (previous.type !== feature.type) {
      changes.push({
        field: `features.${name}.type`,
        action: 'change',
        from: previous.type,
        to: feature.type,
        level: 'breaking',
        reason: 'type change',
      });
    }
    if (previous.expr !== feature.expr) {
      changes.push({
        field: `features.${name}.expr`,
        action:
          previous.expr === undefined ? 'add' : feature.expr === undefined ? 'remove' : 'change',
        from: previous.expr,
        to: feature.expr,
        level: 'breaking',
        reason: 'expression change: values are computed differently (new view version)',
      });
    }
    for (const key of ['description', 'nullable', 'min', 'max', 'allowedValues'] as const) {
      if (!same(previous[key], feature[key])) {
        changes.push({
          field: `features.${name}.${key}`,
          action: 'change',
          from: previous[key],
          to: feature[key],
          level: 'metadata',
          reason: 'constraint or description only',
        });
      }
    }
  }
  for (const [name, feature] of oldFeatures) {
    if (newFeatures.has(name)) continue;
    const users = usage.servicesOfFeature(before.name, name);
    changes.push(
      removal(
        `features.${name}`,
        feature.type,
        users,
        'removed feature used by feature services',
        'removed feature no service used',
      ),
    );
  }
  if (before.online && !after.online) {
    const users = usage.onlineServicesOfView(before.name);
    changes.push({
      field: 'online',
      action: 'change',
      from: true,
      to: false,
      level: users.length > 0 ? 'breaking' : 'metadata',
      reason:
        users.length > 0
          ? `online services ${list(users)} can no longer be served`
          : 'no longer materialized online',
    });
  }
  const metadataFields = [
    'ttl',
    'schedule',
    'expectedFreshness',
    'onlineTiles',
    'quality',
    'status',
    'leakageRisk',
    ...commonMetadata,
  ] as const;
  changes.push(...metadataChanges(before, after, metadataFields));
  if (!before.online && after.online) {
    changes.push({
      field: 'online',
      action: 'change',
      from: false,
      to: true,
      level: 'metadata',
      reason: 'now materialized online',
    });
  }
  return changes;
}

function diffService(before: RegistryFeatureService, after: RegistryFeatureService): FieldChange[] {
  const changes: FieldChange[] = [];
  const outputs = (s: RegistryFeatureService) => [...s.features, ...(s.onDemandFeatures ?? [])];
  const oldOutputs = new Map(outputs(before).map((f) => [f.outputName, f]));
  const newOutputs = new Map(outputs(after).map((f) => [f.outputName, f]));
  for (const [name, feature] of newOutputs) {
    const previous = oldOutputs.get(name);
    const source = `${feature.view}.${feature.feature}`;
    if (!previous)
      changes.push({
        field: `features.${name}`,
        action: 'add',
        to: source,
        level: 'safe',
        reason: 'new feature in the service',
      });
    else if (previous.view !== feature.view || previous.feature !== feature.feature) {
      changes.push({
        field: `features.${name}`,
        action: 'change',
        from: `${previous.view}.${previous.feature}`,
        to: source,
        level: 'breaking',
        reason: 'the name now carries another feature',
      });
    } else if (previous.type !== feature.type) {
      changes.push({
        field: `features.${name}.type`,
        action: 'change',
        from: previous.type,
        to: feature.type,
        level: 'breaking',
        reason: 'type change',
      });
    }
  }
  for (const [name, feature] of oldOutputs) {
    if (!newOutputs.has(name)) {
      changes.push({
        field: `features.${name}`,
        action: 'remove',
        from: `${feature.view}.${feature.feature}`,
        level: 'breaking',
        reason: 'models reading this feature lose it',
      });
    }
  }
  if (before.online !== after.online) {
    changes.push({
      field: 'online',
      action: 'change',
      from: before.online,
      to: after.online,
      level: after.online ? 'safe' : 'breaking',
      reason: after.online ? 'now served online' : 'no longer servable online',
    });
  }
  return [...changes, ...metadataChanges(before, after, ['status', ...commonMetadata])];
}
