import { defineFeatureService } from '../lib/definitions/index.ts';
import { customerContract, customerProfile, lastOrder } from './views.ts';

/** Everything the churn model trains on. */
export const churnV1 = defineFeatureService({
  name: 'churn_v1',
  features: [
    customerProfile,
    customerContract,
    lastOrder.select([
      { feature: 'amount', alias: 'last_order_amount' },
      { feature: 'category', alias: 'last_order_category' },
    ]),
  ],
  description: 'Training features of churn model v1.',
  owner: 'growth-ml@example.com',
  tags: { model: 'churn' },
});

/** What the churn model needs at inference time, served by the lookup API. */
export const churnOnline = defineFeatureService({
  name: 'churn_online',
  features: [
    customerProfile.select(['plan', 'monthly_charges', 'tenure_months']),
    customerContract.select(['contract_type']),
    lastOrder.select([{ feature: 'amount', alias: 'last_order_amount' }]),
  ],
  description: 'Online features of the churn model, a subset of churn_v1.',
  owner: 'growth-ml@example.com',
  tags: { model: 'churn' },
});
