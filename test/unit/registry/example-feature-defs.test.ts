import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  compileRegistry,
  loadDefinitions,
  type Registry,
  registrySchema,
  serializeRegistry,
} from '../../../lib/registry/index.ts';
import { repoRoot } from '../../helpers/run-fstore.ts';

const featureDefs = path.join(repoRoot, 'feature-defs');

describe('the example feature-defs/', () => {
  let registry: Registry;
  beforeAll(async () => {
    registry = compileRegistry(await loadDefinitions(featureDefs));
  });

  it('compiles to the same bytes every time, and validates against the registry schema', async () => {
    const again = compileRegistry(await loadDefinitions(featureDefs));
    expect(serializeRegistry(again)).toBe(serializeRegistry(registry));
    expect(registrySchema.parse(JSON.parse(serializeRegistry(registry)))).toEqual(registry);
    expect(registry.version).toMatch(/^[0-9a-f]{16}$/);
  });

  it('has one entity', () => {
    expect(registry.entities).toEqual([
      {
        name: 'customer',
        joinKeys: [{ name: 'customer_id', type: 'string' }],
        description: 'A subscriber of the service; ids look like C000001.',
        owner: 'growth-ml@example.com',
        tags: { domain: 'churn' },
        definedIn: 'entities.ts',
      },
    ]);
  });

  it('has three sources, each with event and created timestamps and its own offline location', () => {
    expect(
      registry.sources.map((s) => ({
        name: s.name,
        columns: s.schema.map((c) => `${c.name}:${c.type}`).join(' '),
        timestampField: s.timestampField,
        createdTimestampField: s.createdTimestampField,
        offline: s.offline,
        definedIn: s.definedIn,
      })),
    ).toEqual([
      {
        name: 'customer_contracts',
        columns:
          'customer_id:string contract_type:string payment_method:string event_ts:timestamp created_ts:timestamp',
        timestampField: 'event_ts',
        createdTimestampField: 'created_ts',
        offline: { glueTable: 'customer_contracts', s3Prefix: 'offline/customer_contracts/' },
        definedIn: 'sources.ts',
      },
      {
        name: 'customer_profiles',
        columns:
          'customer_id:string age:int32 plan:string region:string monthly_charges:float64 tenure_months:int32 event_ts:timestamp created_ts:timestamp',
        timestampField: 'event_ts',
        createdTimestampField: 'created_ts',
        offline: { glueTable: 'customer_profiles', s3Prefix: 'offline/customer_profiles/' },
        definedIn: 'sources.ts',
      },
      {
        name: 'orders',
        columns:
          'order_id:string customer_id:string amount:float64 category:string event_ts:timestamp created_ts:timestamp',
        timestampField: 'event_ts',
        createdTimestampField: 'created_ts',
        offline: { glueTable: 'orders', s3Prefix: 'offline/orders/' },
        definedIn: 'sources.ts',
      },
    ]);
  });

  it('has four online views keyed by customer, with derived names', () => {
    expect(
      registry.featureViews.map((v) => ({
        name: v.name,
        entities: v.entities,
        joinKeys: v.joinKeys,
        source: v.source,
        features: v.features.map((f) => `${f.name}:${f.type}`).join(' '),
        ttl: `${v.ttl} = ${v.ttlSeconds}s`,
        online: v.online,
        schedule: v.schedule,
        status: v.status,
        glueTable: v.offline.glueTable,
        s3Prefix: v.offline.s3Prefix,
        keyPrefix: v.onlineStore.keyPrefix,
        definedIn: v.definedIn,
      })),
    ).toEqual([
      {
        name: 'customer_contract',
        entities: ['customer'],
        joinKeys: [{ name: 'customer_id', type: 'string' }],
        source: 'customer_contracts',
        features: 'contract_type:string payment_method:string',
        ttl: '365d = 31536000s',
        online: true,
        schedule: 'rate(1 day)',
        status: 'active',
        glueTable: 'customer_contracts',
        s3Prefix: 'offline/customer_contracts/',
        keyPrefix: `customer_contract#${registry.featureViews[0]?.version}`,
        definedIn: 'views.ts',
      },
      {
        name: 'customer_profile',
        entities: ['customer'],
        joinKeys: [{ name: 'customer_id', type: 'string' }],
        source: 'customer_profiles',
        features: 'age:int32 plan:string region:string monthly_charges:float64 tenure_months:int32',
        ttl: '30d = 2592000s',
        online: true,
        schedule: 'rate(6 hours)',
        status: 'active',
        glueTable: 'customer_profiles',
        s3Prefix: 'offline/customer_profiles/',
        keyPrefix: `customer_profile#${registry.featureViews[1]?.version}`,
        definedIn: 'views.ts',
      },
      {
        name: 'last_order',
        entities: ['customer'],
        joinKeys: [{ name: 'customer_id', type: 'string' }],
        source: 'orders',
        features: 'amount:float64 category:string',
        ttl: '90d = 7776000s',
        online: true,
        schedule: 'rate(1 hour)',
        status: 'active',
        glueTable: 'orders',
        s3Prefix: 'offline/orders/',
        keyPrefix: `last_order#${registry.featureViews[2]?.version}`,
        definedIn: 'views.ts',
      },
      {
        name: 'order_stats',
        entities: ['customer'],
        joinKeys: [{ name: 'customer_id', type: 'string' }],
        source: 'orders',
        features:
          'amount_count_7d:int64 amount_count_30d:int64 amount_count_90d:int64 amount_sum_7d:float64 amount_sum_30d:float64 amount_sum_90d:float64 amount_avg_7d:float64 amount_avg_30d:float64 amount_avg_90d:float64 category_count_distinct_90d:int64',
        ttl: 'undefined = undefineds',
        online: true,
        schedule: 'rate(1 hour)',
        status: 'active',
        glueTable: 'orders',
        s3Prefix: 'offline/orders/',
        keyPrefix: `order_stats#${registry.featureViews[3]?.version}`,
        definedIn: 'views.ts',
      },
    ]);
  });

  it('keeps the view schema versions, so online data written under them stays readable', () => {
    // These only change when a view's keys, feature names or types, source or time columns change.
    // If a change here is intended, the online items under the old key prefix are orphaned.
    expect(Object.fromEntries(registry.featureViews.map((v) => [v.name, v.version]))).toEqual({
      customer_contract: '1f1be18fd920',
      customer_profile: 'a73dd95beb4c',
      last_order: '3dffc907eabd',
      order_stats: '7aed889f0f5f',
    });
  });

  it('keeps the constraints and the leakage-risk note of the views', () => {
    const profile = registry.featureViews.find((v) => v.name === 'customer_profile');
    expect(profile?.features[0]).toEqual({
      name: 'age',
      type: 'int32',
      description: 'Age in years',
      nullable: true,
      min: 18,
      max: 120,
    });
    expect(profile?.features[1]).toMatchObject({
      name: 'plan',
      nullable: false,
      allowedValues: ['basic', 'standard', 'premium'],
    });
    expect(registry.featureViews.map((v) => Boolean(v.leakageRisk))).toEqual([
      false,
      false,
      true,
      false,
    ]);
  });

  it('has two online services with their output names, aliases and types', () => {
    const summary = (name: string) => {
      const service = registry.featureServices.find((s) => s.name === name);
      return {
        online: service?.online,
        status: service?.status,
        definedIn: service?.definedIn,
        features: service?.features.map(
          (f) => `${f.view}.${f.feature}${f.alias ? ` as ${f.alias}` : ''}:${f.type}`,
        ),
      };
    };
    expect(registry.featureServices.map((s) => s.name)).toEqual(['churn_online', 'churn_v1']);
    expect(summary('churn_v1')).toEqual({
      online: true,
      status: 'active',
      definedIn: 'services.ts',
      features: [
        'customer_profile.age:int32',
        'customer_profile.plan:string',
        'customer_profile.region:string',
        'customer_profile.monthly_charges:float64',
        'customer_profile.tenure_months:int32',
        'customer_contract.contract_type:string',
        'customer_contract.payment_method:string',
        'last_order.amount as last_order_amount:float64',
        'last_order.category as last_order_category:string',
      ],
    });
    expect(summary('churn_online')).toEqual({
      online: true,
      status: 'active',
      definedIn: 'services.ts',
      features: [
        'customer_profile.plan:string',
        'customer_profile.monthly_charges:float64',
        'customer_profile.tenure_months:int32',
        'customer_contract.contract_type:string',
        'last_order.amount as last_order_amount:float64',
      ],
    });
  });
});
