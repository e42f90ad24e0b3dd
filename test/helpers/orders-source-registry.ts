import type { Registry } from '../../lib/registry/index.ts';

/** A registry holding only the source `orders` (customer_id, amount) under `offline/orders/`. */
export const ordersSourceRegistry = {
  sources: [
    {
      name: 'orders',
      schema: [
        { name: 'customer_id', type: 'string' },
        { name: 'amount', type: 'float64' },
      ],
      offline: { glueTable: 'orders', s3Prefix: 'offline/orders/' },
    },
  ],
} as unknown as Registry;
