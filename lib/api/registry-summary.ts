import type { Registry } from '../registry/index.ts';
// Not from the registry's index: that would bundle the definitions' compiler into the Lambda.
import { lineageGraph } from '../registry/lineage.ts';

/**
 * What `GET /v1/registry` shows: what can be looked up, with types, owners and descriptions,
 * and the lineage graph (source → column → feature → view → service).
 */
export function registrySummary(registry: Registry) {
  return {
    version: registry.version,
    featureViews: registry.featureViews.map((v) => ({
      name: v.name,
      version: v.version,
      entities: v.entities,
      joinKeys: v.joinKeys,
      online: v.online,
      ttl: v.ttl ?? null,
      status: v.status,
      owner: v.owner ?? null,
      description: v.description ?? null,
      tags: v.tags,
      features: v.features.map((f) => ({
        name: f.name,
        type: f.type,
        description: f.description ?? null,
      })),
    })),
    featureServices: registry.featureServices.map((s) => ({
      name: s.name,
      online: s.online,
      status: s.status,
      owner: s.owner ?? null,
      description: s.description ?? null,
      tags: s.tags,
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
