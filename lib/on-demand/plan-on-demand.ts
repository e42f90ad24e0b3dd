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

/** A stored feature an on-demand view reads, fetched by a training set under a hidden name. */
export interface OnDemandInputColumn {
  readonly view: string;
  readonly feature: string;
  readonly outputName: string;
}

/**
 * The stored features the on-demand views of `service` read, each once, named `fstore_in_<n>`
 * in order of first use (an entity file may not use the `fstore_` prefix). From the registry
 * alone, so the Athena SQL rendered at synth and the training set that reads its result agree.
 */
export function onDemandInputColumns(
  registry: RuntimeRegistry,
  service: RuntimeFeatureService,
): OnDemandInputColumn[] {
  const inputs = new Map<string, OnDemandInputColumn>();
  const views = new Set((service.onDemandFeatures ?? []).map((f) => f.view));
  for (const name of views)
    for (const input of onDemandView(registry, name).inputs) {
      const key = `${input.view}\u0000${input.feature}`;
      if (!inputs.has(key))
        inputs.set(key, {
          view: input.view,
          feature: input.feature,
          outputName: `fstore_in_${inputs.size}`,
        });
    }
  return [...inputs.values()];
}

/** onDemandInputColumns of the service `request` names; none for `view:feature` references. */
export function onDemandInputsOfRequest(
  registry: RuntimeRegistry,
  request: { readonly service: string } | { readonly features: readonly string[] },
): OnDemandInputColumn[] {
  if (!('service' in request)) return [];
  const service = registry.featureServices.find((s) => s.name === request.service);
  return service ? onDemandInputColumns(registry, service) : [];
}
