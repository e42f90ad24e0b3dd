import { defineAggregationView, defineFeatureView } from '../lib/definitions/index.ts';
import { customer } from './entities.ts';
import { customerContracts, customerProfiles, orders } from './sources.ts';

export const customerProfile = defineFeatureView({
  name: 'customer_profile',
  entities: [customer],
  source: customerProfiles,
  features: {
    age: { type: 'int32', description: 'Age in years', min: 18, max: 120 },
    plan: {
      type: 'string',
      description: 'Subscription plan',
      allowedValues: ['basic', 'standard', 'premium'],
      nullable: false,
    },
    region: {
      type: 'string',
      description: 'Sales region',
      allowedValues: ['north', 'south', 'east', 'west'],
    },
    monthly_charges: { type: 'float64', description: 'Current monthly bill in USD', min: 0 },
    tenure_months: { type: 'int32', description: 'Months since sign-up', min: 0 },
  },
  ttl: '30d',
  online: true,
  schedule: 'rate(6 hours)',
  description: 'Latest profile attributes of a customer.',
  owner: 'growth-ml@example.com',
  tags: { domain: 'churn', tier: 'gold' },
});

export const customerContract = defineFeatureView({
  name: 'customer_contract',
  entities: [customer],
  source: customerContracts,
  features: {
    contract_type: {
      type: 'string',
      description: 'Contract length',
      allowedValues: ['month_to_month', 'one_year', 'two_year'],
      nullable: false,
    },
    payment_method: {
      type: 'string',
      description: 'How the customer pays',
      allowedValues: ['card', 'bank_transfer', 'paypal', 'invoice'],
    },
  },
  ttl: '365d',
  online: true,
  schedule: 'rate(1 day)',
  description: 'Current contract terms of a customer.',
  owner: 'growth-ml@example.com',
  tags: { domain: 'churn' },
});

export const lastOrder = defineFeatureView({
  name: 'last_order',
  entities: [customer],
  source: orders,
  features: {
    amount: { type: 'float64', description: 'Amount of the latest order in USD', min: 0 },
    category: { type: 'string', description: 'Product category of the latest order' },
  },
  ttl: '90d',
  online: true,
  schedule: 'rate(1 hour)',
  leakageRisk:
    'Orders placed after a cancellation request can leak the churn label; entity timestamps must precede the request.',
  description: 'The most recent order of a customer.',
  owner: 'commerce-ml@example.com',
  tags: { domain: 'churn' },
});

/** Order activity over time windows: computed point-in-time for training, decaying online. */
export const orderStats = defineAggregationView({
  name: 'order_stats',
  entities: [customer],
  source: orders,
  aggregations: {
    amount: { functions: ['count', 'sum', 'avg'], windows: ['7d', '30d', '90d'] },
    category: { functions: ['count_distinct'], windows: ['90d'] },
  },
  online: true,
  schedule: 'rate(1 hour)',
  description: 'Order counts, spend and variety of a customer over the last 7, 30 and 90 days.',
  owner: 'commerce-ml@example.com',
  tags: { domain: 'churn' },
});
