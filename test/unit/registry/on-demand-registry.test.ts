import { describe, expect, it } from 'vitest';
import {
  defineFeatureService,
  defineOnDemandView,
  type OnDemandViewInput,
} from '../../../lib/definitions/index.ts';
import { compileRegistry, registrySchema } from '../../../lib/registry/index.ts';
import { planRegistryChanges } from '../../../lib/registry/plan.ts';
import { lookupRegistryProjection } from '../../../lib/registry/runtime-projection.ts';
import { onlineMonthlyProfile } from '../../helpers/monthly-profile.ts';

const { profile } = onlineMonthlyProfile();

function registryWith(
  transform: OnDemandViewInput['transform'],
  extra: Partial<OnDemandViewInput> = {},
) {
  const ratio = defineOnDemandView({
    name: 'spend_ratio',
    request: { basket: 'float64' },
    inputs: [profile.select(['monthly'])],
    features: { ratio: 'float64' },
    transform,
    ...extra,
  });
  const checkout = defineFeatureService({ name: 'checkout', features: [ratio] });
  const plain = defineFeatureService({ name: 'plain', features: [profile] });
  return compileRegistry([
    { definition: checkout, file: 'services.ts' },
    { definition: plain, file: 'services.ts' },
  ]);
}

describe('on-demand views in the registry', () => {
  const first = registryWith((row) => ({ ratio: row.basket / row.monthly }));

  it('compiles the view with its inputs and a hash of the transform source, and reads back', () => {
    const [view] = first.onDemandViews ?? [];
    expect(view).toMatchObject({
      name: 'spend_ratio',
      request: [{ name: 'basket', type: 'float64' }],
      inputs: [{ view: 'profile', feature: 'monthly', name: 'monthly', type: 'float64' }],
      features: [{ name: 'ratio', type: 'float64', nullable: true }],
      definedIn: 'services.ts',
    });
    expect(view?.transformHash).toMatch(/^[0-9a-f]{16}$/);
    expect(first.featureViews.map((v) => v.name)).toEqual(['profile']);
    expect(first.featureServices.find((s) => s.name === 'checkout')).toMatchObject({
      features: [],
      onDemandFeatures: [{ view: 'spend_ratio', feature: 'ratio', outputName: 'ratio' }],
      online: true,
    });
    expect(registrySchema.parse(first)).toEqual(first);
    expect(lookupRegistryProjection(first).onDemandViews?.[0]?.transformHash).toBe(
      view?.transformHash,
    );
  });

  it('leaves registries without on-demand views as they were (no onDemandViews key)', () => {
    const plain = compileRegistry([
      { definition: defineFeatureService({ name: 'plain', features: [profile] }) },
    ]);
    expect(Object.hasOwn(plain, 'onDemandViews')).toBe(false);
  });

  it('makes an edited transform a plan change naming the services that serve it', () => {
    const edited = registryWith((row) => ({ ratio: row.monthly / row.basket }));
    expect(edited.version).not.toBe(first.version);
    const plan = planRegistryChanges(first, edited);
    const change = plan.changes.find((c) => c.kind === 'onDemandView');
    expect(change).toMatchObject({
      name: 'spend_ratio',
      action: 'change',
      affectedServices: ['checkout'],
      fields: [expect.objectContaining({ field: 'transform', level: 'safe' })],
    });
    expect(plan.changes).toHaveLength(1);
  });

  it('finds no change when the transform text is the same', () => {
    const again = registryWith((row) => ({ ratio: row.basket / row.monthly }));
    expect(planRegistryChanges(first, again).changes).toEqual([]);
  });

  it('makes a new request field breaking while a service serves the view', () => {
    const more = registryWith((row) => ({ ratio: row.basket / row.monthly }), {
      request: { basket: 'float64', coupon: 'string' },
    });
    const plan = planRegistryChanges(first, more);
    expect(plan.hasBreaking).toBe(true);
    expect(plan.changes[0]?.fields).toEqual([
      expect.objectContaining({ field: 'request.coupon', action: 'add', level: 'breaking' }),
    ]);
  });
});
