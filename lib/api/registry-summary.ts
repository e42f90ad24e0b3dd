// Not from the registry's index: that would bundle the definitions' compiler into the Lambda.
import { lineageGraph } from '../registry/lineage.ts';
import type {
  RuntimeFeature,
  RuntimeFeatureService,
  RuntimeFeatureView,
  RuntimeRegistry,
} from '../registry/runtime-projection.ts';

/** Metadata a whole registry has and a function's runtime projection leaves out (ADR 0012). */
interface Described {
  readonly owner?: string;
  readonly description?: string;
  readonly tags?: Readonly<Record<string, string>>;
}

/** The metadata that is there: a key absent from the registry is absent here, never null. */
function metadataOf({ owner, description, tags }: Described): Described {
  return {
    ...(owner === undefined ? {} : { owner }),
    ...(description === undefined ? {} : { description }),
    ...(tags === undefined ? {} : { tags }),
  };
}

/**
 * What `GET /v1/registry` shows (registry-summary-schema.ts): what can be looked up, with keys,
 * types, TTLs and status, and the lineage graph (source → column → feature → view → service).
 * Owners, descriptions and tags appear where the registry has them: the local server's whole
 * registry does, a deployed function's projection does not (they are in the registry record
 * and `fstore describe`).
 */
export function registrySummary(registry: RuntimeRegistry) {
  // The local server passes its whole registry, which has the metadata a projection lacks.
  const views: readonly (Omit<RuntimeFeatureView, 'features'> &
    Described & { readonly features: readonly (RuntimeFeature & Described)[] })[] =
    registry.featureViews;
  const services: readonly (RuntimeFeatureService & Described)[] = registry.featureServices;
  return {
    version: registry.version,
    featureViews: views.map((v) => ({
      name: v.name,
      version: v.version,
      entities: v.entities,
      joinKeys: v.joinKeys,
      online: v.online,
      ttl: v.ttl ?? null,
      status: v.status,
      ...metadataOf(v),
      features: v.features.map((f) => ({
        name: f.name,
        type: f.type,
        ...metadataOf({ description: f.description }),
      })),
    })),
    featureServices: services.map((s) => ({
      name: s.name,
      online: s.online,
      status: s.status,
      ...metadataOf(s),
      features: s.features.map((f) => ({
        name: f.outputName,
        view: f.view,
        feature: f.feature,
        type: f.type,
      })),
    })),
    lineage: lineageGraph(registry),
  };
}
