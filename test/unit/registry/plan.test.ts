import { describe, expect, it } from 'vitest';
import {
  defineEntity,
  defineFeatureService,
  defineFeatureView,
  defineSource,
  type ValueType,
} from '../../../lib/definitions/index.ts';
import { compileRegistry, type Registry } from '../../../lib/registry/index.ts';
import { planRegistryChanges } from '../../../lib/registry/plan.ts';

interface Variant {
  keyType?: 'string' | 'int64';
  ageType?: ValueType;
  extraFeature?: boolean;
  dropTenure?: boolean;
  serviceSelectsTenure?: boolean;
  description?: string;
  ttl?: string;
  timestampField?: 'event_ts' | 'updated_ts';
  online?: boolean;
  withService?: boolean;
  withOrdersView?: boolean;
}

function registry(v: Variant = {}): Registry {
  const customer = defineEntity({
    name: 'customer',
    joinKeys: [{ name: 'customer_id', type: v.keyType ?? 'string' }],
  });
  const profiles = defineSource({
    name: 'profiles',
    schema: {
      customer_id: v.keyType ?? 'string',
      age: v.ageType ?? 'int32',
      tenure: 'int32',
      score: 'float64',
      event_ts: 'timestamp',
      updated_ts: 'timestamp',
    },
    timestampField: v.timestampField ?? 'event_ts',
  });
  const features: Record<string, ValueType> = { age: v.ageType ?? 'int32' };
  if (!v.dropTenure) features.tenure = 'int32';
  if (v.extraFeature) features.score = 'float64';
  const view = defineFeatureView({
    name: 'profile',
    entities: [customer],
    source: profiles,
    features,
    ...(v.ttl ? { ttl: v.ttl } : {}),
    online: v.online ?? true,
    schedule: 'rate(1 hour)',
    description: v.description ?? 'profile',
  });
  const definitions = [{ definition: view }];
  const all: Parameters<typeof compileRegistry>[0][number][] = [...definitions];
  if (v.withOrdersView) {
    const orders = defineSource({
      name: 'orders',
      schema: { customer_id: v.keyType ?? 'string', amount: 'float64', event_ts: 'timestamp' },
      timestampField: 'event_ts',
    });
    all.push({
      definition: defineFeatureView({
        name: 'orders_view',
        entities: [customer],
        source: orders,
        features: { amount: 'float64' },
      }),
    });
  }
  if (v.withService ?? true) {
    const selected = v.serviceSelectsTenure === false || v.dropTenure ? ['age'] : ['age', 'tenure'];
    all.push({
      definition: defineFeatureService({ name: 'model', features: [view.select(selected)] }),
    });
  }
  return compileRegistry(all);
}

/** The compiled schema version of view `profile`: 12 hex digits of the content hash. */
const profileVersion = (r: Registry) => {
  const version = r.featureViews.find((v) => v.name === 'profile')?.version;
  expect(version).toMatch(/^[0-9a-f]{12}$/);
  return version;
};

const changeOf = (plan: ReturnType<typeof planRegistryChanges>, kind: string, name: string) =>
  plan.changes.find((c) => c.kind === kind && c.name === name);

describe('planRegistryChanges', () => {
  it('reports every definition as a safe addition when nothing was applied', () => {
    const plan = planRegistryChanges(undefined, registry());
    expect(plan.changes.map((c) => `${c.action} ${c.kind} ${c.name} ${c.level}`)).toEqual([
      'add entity customer safe',
      'add source profiles safe',
      'add featureView profile safe',
      'add featureService model safe',
    ]);
    expect(plan.hasBreaking).toBe(false);
    expect(plan.fromVersion).toBeUndefined();
    expect(changeOf(plan, 'featureView', 'profile')?.version).toEqual({
      to: profileVersion(registry()),
    });
  });

  it('reports no changes for the same definitions', () => {
    const plan = planRegistryChanges(registry(), registry());
    expect(plan.changes).toEqual([]);
    expect(plan.counts).toEqual({ metadata: 0, safe: 0, breaking: 0 });
  });

  it('marks a description or ttl change metadata-only and keeps the view version', () => {
    const before = registry();
    const after = registry({ description: 'new words', ttl: '7d' });
    const plan = planRegistryChanges(before, after);
    const view = changeOf(plan, 'featureView', 'profile');
    expect(view?.level).toBe('metadata');
    expect(view?.fields.map((f) => f.field).sort()).toEqual(['description', 'ttl']);
    expect(view?.version).toBeUndefined();
    expect(plan.hasBreaking).toBe(false);
  });

  it('marks a feature type change breaking', () => {
    const before = registry();
    const after = registry({ ageType: 'int64' });
    const plan = planRegistryChanges(before, after);
    const view = changeOf(plan, 'featureView', 'profile');
    expect(view?.level).toBe('breaking');
    expect(view?.fields).toContainEqual(
      expect.objectContaining({
        field: 'features.age.type',
        from: 'int32',
        to: 'int64',
        level: 'breaking',
      }),
    );
    expect(view?.version).toEqual({ from: profileVersion(before), to: profileVersion(after) });
    expect(profileVersion(before)).not.toBe(profileVersion(after));
    expect(changeOf(plan, 'source', 'profiles')?.fields).toContainEqual(
      expect.objectContaining({ field: 'schema.age', level: 'breaking' }),
    );
    expect(plan.hasBreaking).toBe(true);
  });

  it('marks a new feature safe while giving the view a new version', () => {
    const before = registry();
    const after = registry({ extraFeature: true });
    const plan = planRegistryChanges(before, after);
    const view = changeOf(plan, 'featureView', 'profile');
    expect(view?.level).toBe('safe');
    expect(view?.fields).toEqual([
      expect.objectContaining({ field: 'features.score', action: 'add', level: 'safe' }),
    ]);
    expect(view?.version).toEqual({ from: profileVersion(before), to: profileVersion(after) });
    expect(profileVersion(before)).not.toBe(profileVersion(after));
    expect(plan.hasBreaking).toBe(false);
  });

  it('marks removing a feature that a service used breaking', () => {
    const plan = planRegistryChanges(registry(), registry({ dropTenure: true }));
    const view = changeOf(plan, 'featureView', 'profile');
    expect(view?.fields).toContainEqual(
      expect.objectContaining({ field: 'features.tenure', action: 'remove', level: 'breaking' }),
    );
    expect(view?.fields.find((f) => f.field === 'features.tenure')?.reason).toContain('"model"');
    expect(changeOf(plan, 'featureService', 'model')?.level).toBe('breaking');
  });

  it('marks removing a feature no service used safe', () => {
    const plan = planRegistryChanges(
      registry({ serviceSelectsTenure: false }),
      registry({ dropTenure: true }),
    );
    const view = changeOf(plan, 'featureView', 'profile');
    expect(view?.level).toBe('safe');
    expect(plan.hasBreaking).toBe(false);
  });

  it('marks a join key type change breaking', () => {
    const plan = planRegistryChanges(registry(), registry({ keyType: 'int64' }));
    expect(changeOf(plan, 'entity', 'customer')?.level).toBe('breaking');
    expect(changeOf(plan, 'featureView', 'profile')?.fields).toContainEqual(
      expect.objectContaining({ field: 'joinKeys', level: 'breaking' }),
    );
  });

  it('marks a change of the source event-timestamp column breaking', () => {
    const plan = planRegistryChanges(registry(), registry({ timestampField: 'updated_ts' }));
    expect(changeOf(plan, 'source', 'profiles')?.fields).toContainEqual(
      expect.objectContaining({
        field: 'timestampField',
        from: 'event_ts',
        to: 'updated_ts',
        level: 'breaking',
      }),
    );
  });

  it('marks removing a feature service breaking and adding one safe', () => {
    const removed = planRegistryChanges(registry(), registry({ withService: false }));
    expect(changeOf(removed, 'featureService', 'model')).toMatchObject({
      action: 'remove',
      level: 'breaking',
    });
    const added = planRegistryChanges(registry({ withService: false }), registry());
    expect(changeOf(added, 'featureService', 'model')).toMatchObject({
      action: 'add',
      level: 'safe',
    });
  });

  it('marks removing a view no service used safe', () => {
    const plan = planRegistryChanges(registry({ withOrdersView: true }), registry());
    expect(changeOf(plan, 'featureView', 'orders_view')).toMatchObject({
      action: 'remove',
      level: 'safe',
    });
    expect(changeOf(plan, 'source', 'orders')).toMatchObject({ action: 'remove', level: 'safe' });
    expect(plan.hasBreaking).toBe(false);
  });

  it('marks taking a served view offline breaking', () => {
    const before = registry();
    const after = registry({ online: false });
    const plan = planRegistryChanges(before, after);
    expect(changeOf(plan, 'featureView', 'profile')?.fields).toContainEqual(
      expect.objectContaining({ field: 'online', level: 'breaking' }),
    );
    expect(changeOf(plan, 'featureService', 'model')?.fields).toContainEqual(
      expect.objectContaining({ field: 'online', from: true, to: false, level: 'breaking' }),
    );
  });

  it('counts changes by level and carries both registry versions', () => {
    const before = registry();
    const after = registry({ ageType: 'int64', description: 'x' });
    const plan = planRegistryChanges(before, after);
    expect(plan.fromVersion).toBe(before.version);
    expect(plan.toVersion).toBe(after.version);
    expect(plan.counts.breaking).toBe(plan.changes.filter((c) => c.level === 'breaking').length);
    expect(plan.counts.breaking).toBeGreaterThan(0);
  });
});
