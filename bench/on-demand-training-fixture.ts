/**
 * bench:on-demand's definitions: a `profile` view (monthly, avg_basket, plan) of one customer
 * entity, served by `checkout_plain` (its three features) and by `checkout_on_demand` (the same
 * and the on-demand view `basket_ratio`: one request value, two stored inputs, two outputs).
 * Imported by the bench and by each timed run, so both register the same transform.
 */
import {
  defineEntity,
  defineFeatureService,
  defineFeatureView,
  defineOnDemandView,
  defineSource,
} from '../lib/definitions/index.ts';
import { compileRegistry } from '../lib/registry/index.ts';

export const plainService = 'checkout_plain';
export const onDemandService = 'checkout_on_demand';
export const profileSource = 'profiles';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const profiles = defineSource({
  name: profileSource,
  schema: {
    customer_id: 'string',
    monthly: 'float64',
    avg_basket: 'float64',
    plan: 'string',
    event_ts: 'timestamp',
  },
  timestampField: 'event_ts',
});
const profile = defineFeatureView({
  name: 'profile',
  entities: [customer],
  source: profiles,
  features: { monthly: 'float64', avg_basket: 'float64', plan: 'string' },
  ttl: '90d',
});
export const basketRatio = defineOnDemandView({
  name: 'basket_ratio',
  request: { basket_amount: 'float64' },
  inputs: [profile.select(['monthly', 'avg_basket'])],
  features: { basket_to_monthly: 'float64', big_basket: { type: 'bool', nullable: false } },
  transform: (row) => ({
    basket_to_monthly: row.monthly ? row.basket_amount / row.monthly : null,
    big_basket:
      row.avg_basket === null ? row.basket_amount > 100 : row.basket_amount > 2 * row.avg_basket,
  }),
});

export const onDemandBenchRegistry = compileRegistry([
  { definition: defineFeatureService({ name: plainService, features: [profile] }) },
  {
    definition: defineFeatureService({ name: onDemandService, features: [profile, basketRatio] }),
  },
]);
