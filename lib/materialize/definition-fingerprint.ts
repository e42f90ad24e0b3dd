import { createHash } from 'node:crypto';
import type { RuntimeFeatureView } from '../registry/runtime-projection.ts';
import { stableStringify } from '../registry/stable-json.ts';
import type { PlannedView } from '../sql/point-in-time-plan.ts';

/**
 * A hash of what decides a view's online items: its plan (source, columns, keys, windows), its
 * features' types and constraints and its TTL. Schema changes already give a view a new version
 * and a fresh state; this also catches what does not (a constraint, the TTL), after which an
 * incremental run would leave items that a full run would write differently. Descriptions,
 * owners and schedules are left out: editing them changes nothing stored.
 */
export function definitionFingerprint(view: RuntimeFeatureView, planned: PlannedView): string {
  // The fields the materializer's projection keeps, so a whole registry (local runs) and the
  // projection (AWS) give one fingerprint and a description edit changes none. Sorted by name:
  // reordering features in the registry changes nothing stored, so it must not rewrite items.
  const features = [...view.features]
    .sort(byKey((f) => f.name))
    .map(({ name, type, nullable, min, max, allowedValues }) => ({
      name,
      type,
      nullable,
      min,
      max,
      allowedValues,
    }));
  const plannedFeatures = [...planned.features].sort(byKey((f) => f.outputName));
  const text = stableStringify(
    {
      planned: { ...planned, features: plannedFeatures },
      features,
      ttlSeconds: view.ttlSeconds ?? null,
    },
    0,
  );
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

const byKey =
  <T>(key: (item: T) => string) =>
  (a: T, b: T): number =>
    key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
