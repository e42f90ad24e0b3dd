import type {
  RuntimeFeatureService,
  RuntimeOnDemandView,
  RuntimeRegistry,
} from '../registry/runtime-projection.ts';
import { transformOf } from './transform-catalog.ts';
import type { TransformFunction } from './transform-values.ts';

/** What a service lookup or training set computes on demand: each wanted on-demand view with its transform. */
export interface OnDemandPart {
  readonly views: readonly {
    readonly view: RuntimeOnDemandView;
    readonly transform: TransformFunction;
    readonly features: readonly { feature: string; outputName: string }[];
  }[];
}

/**
 * The on-demand views a lookup or training set computes (those with a wanted feature) and their transforms.
 * `transformFor` finds the function (the local server checks its source hash); a view whose
 * transform this process lacks is a deployment fault, not the caller's.
 */
export function planOnDemand(
  registry: RuntimeRegistry,
  service: RuntimeFeatureService,
  wanted: (outputName: string) => boolean,
  transformFor: (view: RuntimeOnDemandView) => TransformFunction | undefined = (view) =>
    transformOf(view.name, view.transformHash),
): OnDemandPart {
  const byView = new Map<string, { feature: string; outputName: string }[]>();
  for (const f of service.onDemandFeatures ?? []) {
    if (!wanted(f.outputName)) continue;
    const list = byView.get(f.view) ?? [];
    list.push({ feature: f.feature, outputName: f.outputName });
    byView.set(f.view, list);
  }
  return {
    views: [...byView].map(([name, features]) => {
      const view = onDemandView(registry, name);
      const transform = transformFor(view);
      if (!transform)
        throw new Error(
          `on-demand view "${name}": this process has no transform with source hash ${view.transformHash}; the served registry and the loaded definitions differ (restart after fstore apply, or redeploy)`,
        );
      return { view, transform, features };
    }),
  };
}

export function onDemandView(registry: RuntimeRegistry, name: string): RuntimeOnDemandView {
  const view = registry.onDemandViews?.find((v) => v.name === name);
  if (!view) throw new Error(`internal: on-demand view ${name} is not in the registry`);
  return view;
}
