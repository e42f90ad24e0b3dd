import {
  defineAggregationView,
  defineEntity,
  defineFeatureView,
} from '../../lib/definitions/index.ts';
import { compileRegistry, type Registry } from '../../lib/registry/index.ts';
import { paymentsSource } from './push-registry.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});

/**
 * `payments` (push-registry's source) read by `spend`, an online aggregation view whose tiles
 * pushes update (amount: count, sum, avg, min, max, last, days_since_last over 10m, 1d and
 * 30d; status: count and last over 1d, count_distinct over 1d, which stays batch-fresh), and
 * `last_payment`, an online passthrough view over the same source.
 */
export function tileRegistry(): Registry {
  return compileRegistry(tileDefinitions().map((definition) => ({ definition })));
}

/** tileRegistry's definitions, for an offline fixture. */
export function tileDefinitions() {
  return [
    defineAggregationView({
      name: 'spend',
      entities: [customer],
      source: paymentsSource,
      aggregations: {
        amount: {
          functions: ['count', 'sum', 'avg', 'min', 'max', 'last', 'days_since_last'],
          windows: ['10m', '1d', '30d'],
        },
        status: { functions: ['count', 'last', 'count_distinct'], windows: ['1d'] },
      },
      online: true,
      onlineTiles: true,
      schedule: 'rate(1 hour)',
    }),
    defineFeatureView({
      name: 'last_payment',
      entities: [customer],
      source: paymentsSource,
      features: { amount: 'float64' },
      online: true,
      schedule: 'rate(1 hour)',
    }),
  ];
}
