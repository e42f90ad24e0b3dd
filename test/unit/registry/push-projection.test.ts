import { describe, expect, it } from 'vitest';
import { definitionFingerprint } from '../../../lib/materialize/definition-fingerprint.ts';
import {
  materializerRegistryProjection,
  pushRegistryProjection,
  type RuntimeRegistry,
} from '../../../lib/registry/runtime-projection.ts';
import { planPointInTime } from '../../../lib/sql/point-in-time-plan.ts';
import { editedExampleRegistry } from '../../helpers/edited-example-registry.ts';

/** The fingerprint a put of `view` carries, planned as write-push-online and the materializer plan it. */
function fingerprint(registry: RuntimeRegistry, name: string): string {
  const view = registry.featureViews.find((v) => v.name === name);
  if (!view) throw new Error(`no view ${name}`);
  const [planned] = planPointInTime(
    registry,
    { features: [`${name}:*`] },
    { entityTimestampColumn: 'fstore_unused' },
  ).views;
  if (!planned) throw new Error(`view ${name} has no plan`);
  return definitionFingerprint(view, planned);
}

describe('pushRegistryProjection (what the push Lambda embeds)', () => {
  it('gives each online view the materializer’s definition fingerprint, so a full run on AWS keeps a newer pushed item', async () => {
    const registry = await editedExampleRegistry();
    const push = pushRegistryProjection(registry);
    const materializer = materializerRegistryProjection(registry);
    const online = materializer.featureViews.map((v) => v.name);
    expect(online.length).toBeGreaterThan(1);
    for (const name of online)
      expect(fingerprint(push, name), name).toBe(fingerprint(materializer, name));
  });

  it('holds every source and every view with its constraints, offline views included, and no services', async () => {
    const registry = await editedExampleRegistry();
    const push = pushRegistryProjection(registry);
    expect(push.sources.map((s) => s.name)).toEqual(registry.sources.map((s) => s.name));
    expect(push.featureViews.map((v) => v.name)).toEqual(registry.featureViews.map((v) => v.name));
    const age = push.featureViews
      .find((v) => v.name === 'customer_profile')
      ?.features.find((f) => f.name === 'age');
    expect(age).toMatchObject({ min: 18, max: 120 });
    expect(push.featureServices).toEqual([]);
  });

  it('is unchanged by a description edit (the push function’s code stays as it was)', async () => {
    const before = pushRegistryProjection(await editedExampleRegistry());
    const after = pushRegistryProjection(
      await editedExampleRegistry([
        {
          file: 'views.ts',
          from: "description: 'Age in years'",
          to: "description: 'Age, whole years'",
        },
      ]),
    );
    expect(JSON.stringify(after)).toBe(JSON.stringify(before));
  });
});
