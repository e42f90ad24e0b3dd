import type {
  Registry,
  RegistryEntity,
  RegistryFeature,
  RegistryFeatureService,
  RegistryFeatureView,
  RegistryOnDemandView,
  RegistrySource,
} from './registry-schema.ts';
import { contentHash, stableStringify } from './stable-json.ts';

/** Metadata no function reads at run time: people, the stack and `fstore describe` do. */
type Metadata = 'description' | 'owner' | 'tags' | 'definedIn';

export type RuntimeEntity = Omit<RegistryEntity, Metadata>;
export type RuntimeSource = Omit<RegistrySource, Metadata>;
export type RuntimeFeature = Omit<RegistryFeature, 'description'>;
export type RuntimeFeatureView = Omit<
  RegistryFeatureView,
  | Metadata
  | 'features'
  | 'schedule'
  | 'expectedFreshness'
  | 'expectedFreshnessSeconds'
  | 'leakageRisk'
> & { readonly features: RuntimeFeature[] };
export type RuntimeFeatureService = Omit<RegistryFeatureService, Metadata>;
export type RuntimeOnDemandView = Omit<RegistryOnDemandView, Metadata | 'features'> & {
  readonly features: (RuntimeFeature & {
    type: RegistryOnDemandView['features'][number]['type'];
  })[];
};

/**
 * The registry as one Lambda function reads it at run time, compiled into its bundle instead
 * of the whole registry. What only people, the stack or the alarms read (descriptions,
 * owners, tags, the file a definition came from, schedules, expected freshness, leakage
 * notes) is left out, so editing it changes no function code (docs/adr/0012-quiet-diffs.md).
 * The type leaves those fields out too, so code on a function's path that reads one does not
 * compile. A whole Registry is one, so local runtimes pass theirs. Its `version` is a hash of
 * the projection itself: equal projections, equal versions.
 */
export interface RuntimeRegistry {
  readonly formatVersion: Registry['formatVersion'];
  readonly version: string;
  readonly entities: readonly RuntimeEntity[];
  readonly sources: readonly RuntimeSource[];
  readonly featureViews: readonly RuntimeFeatureView[];
  readonly featureServices: readonly RuntimeFeatureService[];
  /** On-demand views (lookup projection only); absent when there are none. */
  readonly onDemandViews?: readonly RuntimeOnDemandView[];
}

/**
 * What the lookup API reads: every view and service by name (unknown and not-online ones
 * answer 404 with their own codes), keys, feature names and types, TTLs, online key prefixes,
 * lifecycle status, and the sources' columns for the lineage of `GET /v1/registry`. Not the
 * feature constraints or quality rules: only the materializer enforces them.
 */
export function lookupRegistryProjection(registry: Registry): RuntimeRegistry {
  return withVersion({
    formatVersion: registry.formatVersion,
    entities: registry.entities.map(entityRuntime),
    sources: registry.sources.map(sourceRuntime),
    featureViews: registry.featureViews.map((view) => ({
      ...viewRuntime(view),
      features: view.features.map(({ name, type, nullable }) => ({ name, type, nullable })),
    })),
    featureServices: registry.featureServices.map(serviceRuntime),
    // Outputs keep their constraints: the lookup checks what a transform returns against them.
    ...(registry.onDemandViews
      ? {
          onDemandViews: registry.onDemandViews.map(
            ({ description, owner, tags, definedIn, ...view }) => ({
              ...view,
              features: view.features.map(({ description: _, ...f }) => ({
                ...f,
                allowedValues: f.allowedValues && [...f.allowedValues],
              })),
            }),
          ),
        }
      : {}),
  });
}

/**
 * What the materializer reads: the online views (it refuses the others by name) with their
 * feature constraints (rows breaking them are quarantined) and quality rules (reported as
 * QualityRuleViolations), and the sources they read. No entities or services: it plans the
 * query of one view from the view and its source alone.
 */
export function materializerRegistryProjection(registry: Registry): RuntimeRegistry {
  const views = registry.featureViews.filter((view) => view.online);
  const sourceNames = new Set(views.map((view) => view.source));
  return withVersion({
    formatVersion: registry.formatVersion,
    entities: [],
    sources: registry.sources.filter((s) => sourceNames.has(s.name)).map(sourceRuntime),
    featureViews: views.map((view) => ({
      ...viewRuntime(view),
      features: view.features.map(featureWithConstraints),
      ...(view.quality ? { quality: { ...view.quality } } : {}),
    })),
    featureServices: [],
  });
}

/**
 * What the push function reads: every source (a push names one), every view reading it with
 * its constraints (a pushed row is checked against each passthrough view, online or not) and
 * quality rules, so an online view's definition fingerprint equals the materializer's. No
 * entities or services.
 */
export function pushRegistryProjection(registry: Registry): RuntimeRegistry {
  return withVersion({
    formatVersion: registry.formatVersion,
    entities: [],
    sources: registry.sources.map(sourceRuntime),
    featureViews: registry.featureViews.map((view) => ({
      ...viewRuntime(view),
      features: view.features.map(featureWithConstraints),
      ...(view.quality ? { quality: { ...view.quality } } : {}),
    })),
    featureServices: [],
  });
}

function withVersion(body: Omit<RuntimeRegistry, 'version'>): RuntimeRegistry {
  // Through stable JSON, as compileRegistry does: the same projection always has the same bytes.
  return JSON.parse(
    stableStringify({ ...body, version: contentHash(body, 16) }),
  ) as RuntimeRegistry;
}

function entityRuntime({ name, joinKeys }: RegistryEntity): RuntimeEntity {
  return { name, joinKeys: joinKeys.map((k) => ({ ...k })) };
}

function sourceRuntime(source: RegistrySource): RuntimeSource {
  return {
    name: source.name,
    schema: source.schema.map((c) => ({ ...c })),
    timestampField: source.timestampField,
    createdTimestampField: source.createdTimestampField,
    fieldMapping: { ...source.fieldMapping },
    ...(source.filter !== undefined ? { filter: source.filter } : {}),
    offline: { ...source.offline },
  };
}

/** A view's runtime fields, features aside (each function keeps its own part of them). */
function viewRuntime(view: RegistryFeatureView): Omit<RuntimeFeatureView, 'features'> {
  return {
    name: view.name,
    version: view.version,
    transform: view.transform,
    aggregations: view.aggregations?.map((a) => ({ ...a })),
    entities: [...view.entities],
    joinKeys: view.joinKeys.map((k) => ({ ...k })),
    source: view.source,
    ttl: view.ttl,
    ttlSeconds: view.ttlSeconds,
    online: view.online,
    ...(view.onlineTiles ? { onlineTiles: true } : {}),
    status: view.status,
    offline: { ...view.offline },
    onlineStore: { ...view.onlineStore },
  };
}

function featureWithConstraints(feature: RegistryFeature): RuntimeFeature {
  const { name, type, expr, nullable, min, max, allowedValues } = feature;
  return {
    name,
    type,
    ...(expr !== undefined ? { expr } : {}),
    nullable,
    min,
    max,
    allowedValues: allowedValues && [...allowedValues],
  };
}

function serviceRuntime(service: RegistryFeatureService): RuntimeFeatureService {
  return {
    name: service.name,
    features: service.features.map((f) => ({ ...f })),
    ...(service.onDemandFeatures
      ? { onDemandFeatures: service.onDemandFeatures.map((f) => ({ ...f })) }
      : {}),
    online: service.online,
    status: service.status,
  };
}
