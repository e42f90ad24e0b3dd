import { defineEntity } from '../lib/definitions/index.ts';

export const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
  description: 'A subscriber of the service; ids look like C000001.',
  owner: 'growth-ml@example.com',
  tags: { domain: 'churn' },
});
