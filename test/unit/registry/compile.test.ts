import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  defineEntity,
  defineFeatureService,
  defineFeatureView,
  defineSource,
  type FeatureViewInput,
} from '../../../lib/definitions/index.ts';
import {
  compileRegistry,
  type LocatedDefinition,
  loadDefinitions,
  registrySchema,
  serializeRegistry,
} from '../../../lib/registry/index.ts';
import { issuesOf } from '../../helpers/definition-issues.ts';
import { repoRoot } from '../../helpers/run-fstore.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
  owner: 'a@example.com',
});
const source = defineSource({
  name: 'profiles',
  schema: {
    customer_id: 'string',
    age: 'int32',
    plan: 'string',
    score: 'float64',
    event_ts: 'timestamp',
    created_ts: 'timestamp',
  },
  timestampField: 'event_ts',
  createdTimestampField: 'created_ts',
});
const viewInput = (extra: Partial<FeatureViewInput> = {}): FeatureViewInput => ({
  name: 'profile',
  entities: [customer],
  source,
  features: { age: 'int32', plan: 'string' },
  ttl: '30d',
  online: true,
  schedule: 'rate(1 hour)',
  ...extra,
});
const view = defineFeatureView(viewInput());
const service = defineFeatureService({ name: 'model', features: [view.select(['age'])] });

const at = (definition: LocatedDefinition['definition'], file = 'defs.ts'): LocatedDefinition => ({
  definition,
  file,
});
const versionOf = (input: Partial<FeatureViewInput>) =>
  compileRegistry([at(defineFeatureView(viewInput(input)))]).featureViews[0]?.version;

describe('compileRegistry', () => {
  it('includes definitions referenced but not exported, attributed to the referring file', () => {
    const registry = compileRegistry([at(service, 'services.ts')]);
    expect(registry.entities.map((e) => [e.name, e.definedIn])).toEqual([
      ['customer', 'services.ts'],
    ]);
    expect(registry.sources.map((s) => s.name)).toEqual(['profiles']);
    expect(registry.featureViews.map((v) => v.name)).toEqual(['profile']);
  });

  it('attributes each definition to the file that exports it', () => {
    const registry = compileRegistry([at(service, 'services.ts'), at(customer, 'entities.ts')]);
    expect(registry.entities[0]?.definedIn).toBe('entities.ts');
  });

  it('gives byte-identical output for the same definitions in any order', () => {
    const a = serializeRegistry(compileRegistry([at(customer), at(source), at(view), at(service)]));
    const b = serializeRegistry(compileRegistry([at(service), at(view), at(source), at(customer)]));
    expect(a).toEqual(b);
    expect(a.endsWith('}\n')).toBe(true);
  });

  it('produces JSON that validates against the registry schema', () => {
    const registry = compileRegistry([at(service)]);
    expect(registrySchema.parse(JSON.parse(serializeRegistry(registry)))).toEqual(registry);
  });

  it('derives Glue table, S3 prefix and DynamoDB key prefix for each view', () => {
    const compiled = compileRegistry([at(view)]).featureViews[0];
    expect(compiled?.offline).toEqual({ glueTable: 'profiles', s3Prefix: 'offline/profiles/' });
    expect(compiled?.onlineStore.keyPrefix).toBe(`profile#${compiled?.version}`);
    expect(compiled?.version).toMatch(/^[0-9a-f]{12}$/);
    expect(compiled?.joinKeys).toEqual([{ name: 'customer_id', type: 'string' }]);
  });

  it('marks a service online only when every view it reads is online', () => {
    const offline = defineFeatureView(viewInput({ name: 'offline_profile', online: false }));
    const registry = compileRegistry([
      at(service),
      at(
        defineFeatureService({
          name: 'mixed',
          features: [view.select(['age']), offline.select([{ feature: 'plan', alias: 'p' }])],
        }),
      ),
    ]);
    expect(registry.featureServices.map((s) => [s.name, s.online])).toEqual([
      ['mixed', false],
      ['model', true],
    ]);
  });

  it('changes the registry version on any change, including metadata', () => {
    const before = compileRegistry([at(view)]).version;
    expect(
      compileRegistry([at(defineFeatureView(viewInput({ description: 'x' })))]).version,
    ).not.toBe(before);
    expect(compileRegistry([at(view)]).version).toBe(before);
  });

  describe('view schema version', () => {
    const base = versionOf({});

    it.each([
      ['description', { description: 'new' }],
      ['owner', { owner: 'b@example.com' }],
      ['tags', { tags: { team: 'x' } }],
      ['ttl', { ttl: '7d' }],
      ['schedule', { schedule: 'rate(2 hours)' }],
      ['status', { status: 'deprecated' as const }],
      [
        'constraints',
        { features: { age: { type: 'int32' as const, min: 0 }, plan: 'string' as const } },
      ],
      ['feature order', { features: { plan: 'string' as const, age: 'int32' as const } }],
    ])('stays the same when only %s changes', (_, input) => {
      expect(versionOf(input)).toBe(base);
    });

    it.each([
      ['a feature type changes', { features: { age: 'int64' as const, plan: 'string' as const } }],
      [
        'a feature is added',
        { features: { age: 'int32' as const, plan: 'string' as const, score: 'float64' as const } },
      ],
      ['a feature is removed', { features: { age: 'int32' as const } }],
      [
        'the join key changes',
        {
          entities: [
            defineEntity({
              name: 'customer',
              joinKeys: [
                { name: 'customer_id', type: 'string' },
                { name: 'plan', type: 'string' },
              ],
            }),
          ],
          features: { age: 'int32' as const },
        },
      ],
    ])('changes when %s', (_, input) => {
      expect(versionOf(input)).not.toBe(base);
    });

    it('changes when the source timestamp column changes', () => {
      const moved = defineSource({
        name: 'profiles',
        schema: {
          customer_id: 'string',
          age: 'int32',
          plan: 'string',
          event_ts: 'timestamp',
          created_ts: 'timestamp',
        },
        timestampField: 'created_ts',
      });
      expect(versionOf({ source: moved })).not.toBe(base);
    });
  });

  it('rejects two different definitions with the same name, naming both files', () => {
    const other = defineFeatureView(viewInput({ description: 'copy' }));
    const issues = issuesOf(() => compileRegistry([at(view, 'a.ts'), at(other, 'b.ts')]));
    expect(issues).toEqual([
      expect.objectContaining({
        definition: 'feature view "profile"',
        field: 'name',
        message: 'is defined twice (a.ts and b.ts)',
        file: 'b.ts',
      }),
    ]);
  });

  it('accepts the same definition exported from two files', () => {
    expect(compileRegistry([at(view, 'a.ts'), at(view, 'b.ts')]).featureViews).toHaveLength(1);
  });

  it('allows the same name in different kinds', () => {
    const named = defineFeatureView(viewInput({ name: 'profiles' }));
    const registry = compileRegistry([at(named)]);
    expect(registry.sources[0]?.name).toBe('profiles');
    expect(registry.featureViews[0]?.name).toBe('profiles');
  });

  it('rejects a join-key name with different types in two entities', () => {
    const numeric = defineEntity({
      name: 'legacy_customer',
      joinKeys: [{ name: 'customer_id', type: 'int64' }],
    });
    const issues = issuesOf(() => compileRegistry([at(customer), at(numeric, 'legacy.ts')]));
    expect(issues).toEqual([
      expect.objectContaining({
        definition: 'entity "legacy_customer"',
        field: 'joinKeys',
        message: 'join key "customer_id" is int64 here but string in entity "customer"',
        file: 'legacy.ts',
      }),
    ]);
  });

  it('rejects a service selecting a feature the registered view of that name lacks', () => {
    const older = defineFeatureView(
      viewInput({ features: { age: 'int32', plan: 'string', score: 'float64' } }),
    );
    const stale = defineFeatureService({ name: 'stale', features: [older.select(['score'])] });
    const issues = issuesOf(() => compileRegistry([at(view, 'views.ts'), at(stale, 'stale.ts')]));
    expect(issues.map((i) => i.message)).toContain('is defined twice (views.ts and stale.ts)');
  });

  it('compiles the example feature repository', async () => {
    const registry = compileRegistry(await loadDefinitions(path.join(repoRoot, 'feature-defs')));
    expect(registry.entities.map((e) => e.name)).toEqual(['customer']);
    expect(registry.sources.map((s) => s.name)).toEqual([
      'customer_contracts',
      'customer_profiles',
      'orders',
    ]);
    expect(registry.featureViews.map((v) => [v.name, v.ttl, v.schedule, v.online])).toEqual([
      ['customer_contract', '365d', 'rate(1 day)', true],
      ['customer_profile', '30d', 'rate(6 hours)', true],
      ['last_order', '90d', 'rate(1 hour)', true],
    ]);
    const churnV1 = registry.featureServices.find((s) => s.name === 'churn_v1');
    expect(churnV1?.features.map((f) => f.outputName)).toEqual([
      'age',
      'plan',
      'region',
      'monthly_charges',
      'tenure_months',
      'contract_type',
      'payment_method',
      'last_order_amount',
      'last_order_category',
    ]);
    const churnOnline = registry.featureServices.find((s) => s.name === 'churn_online');
    expect(churnOnline?.features.map((f) => `${f.view}.${f.feature}`)).toEqual([
      'customer_profile.plan',
      'customer_profile.monthly_charges',
      'customer_profile.tenure_months',
      'customer_contract.contract_type',
      'last_order.amount',
    ]);
    expect(churnOnline?.online).toBe(true);
  });
});
