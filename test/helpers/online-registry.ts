import { defineEntity, defineFeatureView, defineSource } from '../../lib/definitions/index.ts';
import {
  compileRegistry,
  type Registry,
  type RegistryFeatureView,
} from '../../lib/registry/index.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const profiles = defineSource({
  name: 'profiles',
  schema: {
    customer_id: 'string',
    plan: 'string',
    charges: 'float64',
    tags: 'list<string>',
    event_ts: 'timestamp',
    created_ts: 'timestamp',
  },
  timestampField: 'event_ts',
  createdTimestampField: 'created_ts',
});
const orders = defineSource({
  name: 'orders',
  schema: { customer_id: 'string', amount: 'float64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});

/** Two online views: `profile` (TTL 1 day) and `last_order` (no TTL). */
export function onlineRegistry(): {
  registry: Registry;
  profile: RegistryFeatureView;
  lastOrder: RegistryFeatureView;
} {
  const registry = compileRegistry([
    {
      definition: defineFeatureView({
        name: 'profile',
        entities: [customer],
        source: profiles,
        features: { plan: 'string', charges: 'float64', tags: 'list<string>' },
        ttl: '1d',
        online: true,
        schedule: 'rate(1 hour)',
      }),
    },
    {
      definition: defineFeatureView({
        name: 'last_order',
        entities: [customer],
        source: orders,
        features: { amount: 'float64' },
        online: true,
        schedule: 'rate(1 hour)',
      }),
    },
  ]);
  const [lastOrder, profile] = registry.featureViews;
  if (!profile || !lastOrder) throw new Error('views missing');
  return { registry, profile, lastOrder };
}

export const allFeatures = [
  {
    view: 'profile',
    features: [
      { feature: 'plan', outputName: 'plan' },
      { feature: 'charges', outputName: 'charges' },
      { feature: 'tags', outputName: 'tags' },
    ],
  },
  { view: 'last_order', features: [{ feature: 'amount', outputName: 'last_amount' }] },
];
