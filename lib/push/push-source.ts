import { ApiError } from '../api/api-error.ts';
import { didYouMean } from '../closest-names.ts';
import type {
  RuntimeFeatureView,
  RuntimeRegistry,
  RuntimeSource,
} from '../registry/runtime-projection.ts';

/** The source a push names: 404 UNKNOWN_SOURCE with the known names when there is none. */
export function pushSource(registry: RuntimeRegistry, name: string): RuntimeSource {
  const source = registry.sources.find((s) => s.name === name);
  if (source) return source;
  const known = registry.sources.map((s) => s.name);
  throw new ApiError(404, 'UNKNOWN_SOURCE', `no source "${name}"${didYouMean(name, known)}`, {
    source: name,
    known,
  });
}

/** Every feature view reading the source, online or not. */
export function viewsReading(registry: RuntimeRegistry, source: string): RuntimeFeatureView[] {
  return registry.featureViews.filter((v) => v.source === source);
}

/** A view with a derived feature (`expr`): push does not evaluate expressions (docs/expressions.md). */
export const hasDerivedFeatures = (view: RuntimeFeatureView): boolean =>
  view.features.some((f) => f.expr !== undefined);

/** The views a push writes online: online passthrough views of the source without derived features. */
export function onlinePushViews(registry: RuntimeRegistry, source: string): RuntimeFeatureView[] {
  return viewsReading(registry, source).filter(
    (v) => v.online && v.transform === 'passthrough' && !hasDerivedFeatures(v),
  );
}

/** Online passthrough views a push leaves to materialization: they have derived features. */
export function onlineDerivedViews(
  registry: RuntimeRegistry,
  source: string,
): RuntimeFeatureView[] {
  return viewsReading(registry, source).filter(
    (v) => v.online && v.transform === 'passthrough' && hasDerivedFeatures(v),
  );
}

/** Online views a push cannot update: their values are windows materialization computes. */
export function onlineAggregationViews(
  registry: RuntimeRegistry,
  source: string,
): RuntimeFeatureView[] {
  return viewsReading(registry, source).filter((v) => v.online && v.transform === 'aggregation');
}
