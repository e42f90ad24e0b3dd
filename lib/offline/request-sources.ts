import type { Registry } from '../registry/index.ts';
import { type FeatureRequest, planPointInTime } from '../sql/point-in-time-plan.ts';
import { planOnDemandTrainingSet } from './on-demand-columns.ts';

/** The sources a training set of `request` reads (on-demand views' inputs included), sorted. */
export function requestSources(registry: Registry, request: FeatureRequest): string[] {
  const onDemand = planOnDemandTrainingSet(registry, request, false);
  const plan = planPointInTime(registry, request, {
    entityTimestampColumn: 'event_timestamp',
    ...(onDemand ? { extraFeatures: onDemand.inputs } : {}),
  });
  return [...new Set(plan.views.map((view) => view.source))].sort();
}
