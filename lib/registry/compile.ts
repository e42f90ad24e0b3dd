import { didYouMean } from '../closest-names.ts';
import { listItemField } from '../definitions/errors.ts';
import {
  DefinitionError,
  type DefinitionIssue,
  type Entity,
  type FeatureService,
  type FeatureView,
  type OnDemandView,
  type Source,
} from '../definitions/index.ts';
import { transformSourceHash } from '../on-demand/transform-catalog.ts';
import {
  type Registry,
  type RegistryEntity,
  type RegistryFeatureService,
  type RegistryFeatureView,
  type RegistryOnDemandView,
  type RegistrySource,
  registryFormatVersion,
} from './registry-schema.ts';
import { contentHash, stableStringify } from './stable-json.ts';

export type AnyDefinition = Entity | Source | FeatureView | OnDemandView | FeatureService;

/** A definition and the file (relative to the definitions folder) that exported it, when known. */
export interface LocatedDefinition {
  readonly definition: AnyDefinition;
  readonly file?: string;
}

const kindLabel = {
  entity: 'entity',
  source: 'source',
  featureView: 'feature view',
  onDemandView: 'on-demand view',
  featureService: 'feature service',
} as const;

/**
 * Compiles definitions into the registry. Definitions referenced by others (a view's source
 * and entities, a service's views) are included even when no file exports them.
 * Throws a DefinitionError listing every cross-definition problem.
 */
export function compileRegistry(located: readonly LocatedDefinition[]): Registry {
  const all = withReferences(located);
  const issues: DefinitionIssue[] = [];
  const byKind = {
    entity: [],
    source: [],
    featureView: [],
    onDemandView: [],
    featureService: [],
  } as {
    [K in AnyDefinition['kind']]: {
      definition: Extract<AnyDefinition, { kind: K }>;
      file?: string;
    }[];
  };

  const firstByName = new Map<string, LocatedDefinition>();
  for (const item of all) {
    const { definition } = item;
    const key = `${definition.kind}:${definition.name}`;
    const earlier = firstByName.get(key);
    if (earlier) {
      issues.push({
        definition: `${kindLabel[definition.kind]} "${definition.name}"`,
        field: 'name',
        message: `is defined twice (${describeFile(earlier.file)} and ${describeFile(item.file)})`,
        hint: 'rename one of them or delete the copy; names are unique per kind',
        ...(item.file ? { file: item.file } : {}),
      });
      continue;
    }
    firstByName.set(key, item);
    (byKind[definition.kind] as LocatedDefinition[]).push(item);
  }

  checkJoinKeyTypes(byKind.entity, issues);
  checkServicesUseRegisteredViews(byKind.featureService, firstByName, issues);
  if (issues.length > 0) throw new DefinitionError(issues);

  const views = byKind.featureView.map(({ definition, file }) => compileView(definition, file));
  const viewsByName = new Map(views.map((v) => [v.name, v]));
  const onDemandViews = byKind.onDemandView.map(({ definition, file }) =>
    compileOnDemandView(definition, file),
  );
  const body = {
    formatVersion: registryFormatVersion,
    entities: sortByName(
      byKind.entity.map(({ definition, file }) => compileEntity(definition, file)),
    ),
    sources: sortByName(
      byKind.source.map(({ definition, file }) => compileSource(definition, file)),
    ),
    featureViews: sortByName(views),
    featureServices: sortByName(
      byKind.featureService.map(({ definition, file }) =>
        compileService(definition, file, viewsByName, onDemandViews),
      ),
    ),
    // Left out when empty, so a registry without on-demand views keeps its version.
    ...(onDemandViews.length > 0 ? { onDemandViews: sortByName(onDemandViews) } : {}),
  };
  // Round-trip through stable JSON so the in-memory registry equals what a reader would parse.
  const registry = { ...body, version: contentHash(body, 16) };
  return JSON.parse(stableStringify(registry)) as Registry;
}

/** The registry as the bytes written to disk and compiled into bundles. */
export function serializeRegistry(registry: Registry): string {
  return `${stableStringify(registry)}\n`;
}

function withReferences(unordered: readonly LocatedDefinition[]): LocatedDefinition[] {
  // Visit in file order, so the registry does not depend on the order definitions come in: a
  // definition exported twice, or used but not exported, is attributed to the first file by name.
  const located = [...unordered].sort((a, b) => compareFiles(a.file, b.file));
  const exportedFrom = new Map<AnyDefinition, string | undefined>();
  for (const item of located) {
    if (!exportedFrom.has(item.definition)) exportedFrom.set(item.definition, item.file);
  }
  const result: LocatedDefinition[] = [];
  const seen = new Set<AnyDefinition>();
  // A definition no file exports is attributed to the file of the first definition using it.
  const visit = (definition: AnyDefinition, referrerFile: string | undefined) => {
    if (seen.has(definition)) return;
    seen.add(definition);
    const file = exportedFrom.has(definition) ? exportedFrom.get(definition) : referrerFile;
    result.push(file === undefined ? { definition } : { definition, file });
    if (definition.kind === 'featureView') {
      for (const entity of definition.entities) visit(entity, file);
      visit(definition.source, file);
    }
    if (definition.kind === 'onDemandView') {
      for (const input of definition.inputs) visit(input.view, file);
    }
    if (definition.kind === 'featureService') {
      for (const feature of definition.features) visit(feature.view, file);
      for (const feature of definition.onDemandFeatures ?? []) visit(feature.view, file);
    }
  };
  for (const item of located) visit(item.definition, item.file);
  return result;
}

function checkJoinKeyTypes(
  entities: readonly { definition: Entity; file?: string }[],
  issues: DefinitionIssue[],
): void {
  const typeOf = new Map<string, { type: string; entity: string }>();
  for (const { definition, file } of entities) {
    for (const key of definition.joinKeys) {
      const earlier = typeOf.get(key.name);
      if (earlier && earlier.type !== key.type) {
        issues.push({
          definition: `entity "${definition.name}"`,
          field: 'joinKeys',
          message: `join key "${key.name}" is ${key.type} here but ${earlier.type} in entity "${earlier.entity}"`,
          hint: 'a join key name must have one type everywhere; rename one or make the types agree',
          ...(file ? { file } : {}),
        });
      } else if (!earlier) typeOf.set(key.name, { type: key.type, entity: definition.name });
    }
  }
}

function checkServicesUseRegisteredViews(
  services: readonly { definition: FeatureService; file?: string }[],
  registered: ReadonlyMap<string, LocatedDefinition>,
  issues: DefinitionIssue[],
): void {
  for (const { definition, file } of services) {
    for (const feature of definition.features) {
      const view = registered.get(`featureView:${feature.view.name}`)?.definition as
        | FeatureView
        | undefined;
      if (view && view !== feature.view && !view.features.some((f) => f.name === feature.feature)) {
        issues.push({
          definition: `feature service "${definition.name}"`,
          field: `${listItemField('features', feature.view.name)}.${feature.feature}`,
          message: `selects "${feature.feature}", which the registered view "${view.name}" does not have${didYouMean(
            feature.feature,
            view.features.map((f) => f.name),
          )}`,
          hint: 'select from the view that is registered, or add the feature to it',
          ...(file ? { file } : {}),
        });
      }
    }
  }
}

function compareFiles(a: string | undefined, b: string | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return 1;
  if (b === undefined) return -1;
  return a < b ? -1 : 1;
}

function describeFile(file: string | undefined): string {
  return file ?? 'a definition not exported from any file';
}

function sortByName<T extends { name: string }>(items: T[]): T[] {
  return items.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function common(
  definition: { description?: string; owner?: string; tags: Readonly<Record<string, string>> },
  file?: string,
) {
  return {
    description: definition.description,
    owner: definition.owner,
    tags: { ...definition.tags },
    definedIn: file,
  };
}

function offlineLocation(source: Source) {
  return { glueTable: source.name, s3Prefix: `offline/${source.name}/` };
}

function compileEntity(entity: Entity, file?: string): RegistryEntity {
  return {
    name: entity.name,
    joinKeys: entity.joinKeys.map((k) => ({ ...k })),
    ...common(entity, file),
  };
}

function compileSource(source: Source, file?: string): RegistrySource {
  return {
    name: source.name,
    schema: source.schema.map((c) => ({ ...c })),
    timestampField: source.timestampField,
    createdTimestampField: source.createdTimestampField,
    fieldMapping: { ...source.fieldMapping },
    ...(source.filter !== undefined ? { filter: source.filter } : {}),
    ...(source.retention !== undefined
      ? { retention: source.retention, retentionSeconds: source.retentionSeconds }
      : {}),
    offline: offlineLocation(source),
    ...(source.stream ? { stream: { kinesis: { ...source.stream.kinesis } } } : {}),
    ...common(source, file),
  };
}

/** What identifies the stored shape of a view: keys, feature names and types, and time columns. */
export function viewSchemaVersion(view: FeatureView): string {
  return contentHash(
    {
      transform: view.transform,
      ...(view.aggregations
        ? {
            aggregations: view.aggregations.map((a) => [
              a.feature,
              a.column,
              a.function,
              a.windowSeconds,
            ]),
          }
        : {}),
      joinKeys: view.entities.flatMap((e) => e.joinKeys.map((k) => [k.name, k.type])),
      // A derived feature's expression and the source's row filter decide the stored values too;
      // left out when absent, so views without them keep their versions.
      features: view.features
        .map((f) => (f.expr === undefined ? [f.name, f.type] : [f.name, f.type, f.expr]))
        .sort(),
      ...(view.source.filter !== undefined ? { sourceFilter: view.source.filter } : {}),
      source: view.source.name,
      timestampField: view.source.timestampField,
      createdTimestampField: view.source.createdTimestampField ?? null,
    },
    12,
  );
}

function compileView(view: FeatureView, file?: string): RegistryFeatureView {
  const version = viewSchemaVersion(view);
  return {
    name: view.name,
    version,
    transform: view.transform,
    ...(view.aggregations ? { aggregations: view.aggregations.map((a) => ({ ...a })) } : {}),
    entities: view.entities.map((e) => e.name),
    joinKeys: view.entities.flatMap((e) => e.joinKeys.map((k) => ({ ...k }))),
    source: view.source.name,
    features: view.features.map((f) => ({
      ...f,
      allowedValues: f.allowedValues ? [...f.allowedValues] : undefined,
    })),
    ttl: view.ttl,
    ttlSeconds: view.ttlSeconds,
    online: view.online,
    ...(view.onlineTiles ? { onlineTiles: true } : {}),
    schedule: view.schedule,
    expectedFreshness: view.expectedFreshness,
    expectedFreshnessSeconds: view.expectedFreshnessSeconds,
    quality: view.quality ? { ...view.quality } : undefined,
    status: view.status,
    leakageRisk: view.leakageRisk,
    offline: offlineLocation(view.source),
    onlineStore: { keyPrefix: `${view.name}#${version}` },
    ...common(view, file),
  };
}

/** Hash of what an on-demand view computes: its request, inputs, outputs and transform source. */
function compileOnDemandView(view: OnDemandView, file?: string): RegistryOnDemandView {
  const request = view.request.map((f) => ({ ...f }));
  const inputs = view.inputs.map((i) => ({
    view: i.view.name,
    feature: i.feature,
    name: i.name,
    type: i.type,
  }));
  const features = view.features.map((f) => ({
    ...f,
    allowedValues: f.allowedValues ? [...f.allowedValues] : undefined,
  }));
  const transformHash = transformSourceHash(view.transformSource);
  return {
    name: view.name,
    version: contentHash(
      {
        request,
        inputs,
        features: features.map((f) => [f.name, f.type]),
        transformHash,
      },
      12,
    ),
    request,
    inputs,
    features,
    transformHash,
    status: view.status,
    ...common(view, file),
  };
}

function compileService(
  service: FeatureService,
  file: string | undefined,
  views: ReadonlyMap<string, RegistryFeatureView>,
  onDemandViews: readonly RegistryOnDemandView[],
): RegistryFeatureService {
  const features = service.features.map((f) => {
    const type = f.view.features.find((spec) => spec.name === f.feature)?.type;
    if (type === undefined)
      throw new Error(`internal: ${f.view.name}.${f.feature} vanished after validation`);
    return {
      view: f.view.name,
      feature: f.feature,
      outputName: f.outputName,
      alias: f.alias,
      type,
    };
  });
  const onDemandFeatures = (service.onDemandFeatures ?? []).map((f) => {
    const type = f.view.features.find((spec) => spec.name === f.feature)?.type;
    if (type === undefined)
      throw new Error(`internal: ${f.view.name}.${f.feature} vanished after validation`);
    return {
      view: f.view.name,
      feature: f.feature,
      outputName: f.outputName,
      alias: f.alias,
      type,
    };
  });
  // A service's on-demand features read their inputs' views: those must be online too.
  const inputViews = onDemandFeatures.flatMap(
    (f) => onDemandViews.find((v) => v.name === f.view)?.inputs.map((i) => i.view) ?? [],
  );
  return {
    name: service.name,
    features,
    ...(onDemandFeatures.length > 0 ? { onDemandFeatures } : {}),
    online: [...features.map((f) => f.view), ...inputViews].every(
      (view) => views.get(view)?.online === true,
    ),
    status: service.status,
    ...common(service, file),
  };
}
