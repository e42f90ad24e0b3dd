import { defineSource } from '../lib/definitions/index.ts';

export const customerProfiles = defineSource({
  name: 'customer_profiles',
  schema: {
    customer_id: 'string',
    age: 'int32',
    plan: 'string',
    region: 'string',
    monthly_charges: 'float64',
    tenure_months: 'int32',
    event_ts: 'timestamp',
    created_ts: 'timestamp',
  },
  timestampField: 'event_ts',
  createdTimestampField: 'created_ts',
  description: 'Daily snapshot of each customer profile from the CRM export.',
  owner: 'data-platform@example.com',
  tags: { domain: 'churn', pii: 'none' },
});

export const customerContracts = defineSource({
  name: 'customer_contracts',
  schema: {
    customer_id: 'string',
    contract_type: 'string',
    payment_method: 'string',
    event_ts: 'timestamp',
    created_ts: 'timestamp',
  },
  timestampField: 'event_ts',
  createdTimestampField: 'created_ts',
  description: 'Contract changes from the billing system, one row per change.',
  owner: 'data-platform@example.com',
  tags: { domain: 'churn' },
});

export const orders = defineSource({
  name: 'orders',
  schema: {
    order_id: 'string',
    customer_id: 'string',
    amount: 'float64',
    category: 'string',
    event_ts: 'timestamp',
    created_ts: 'timestamp',
  },
  timestampField: 'event_ts',
  createdTimestampField: 'created_ts',
  description: 'Orders placed by customers, one row per order.',
  owner: 'commerce-data@example.com',
  tags: { domain: 'churn' },
});
