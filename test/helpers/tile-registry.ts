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

/** Variants of `spend`: before it was tile-fed; without `days_since_last`. */
export interface TileDefinitionOptions {
  /** False: `spend` as it was before it gained `onlineTiles` (same version, same items). */
  readonly onlineTiles?: boolean;
  /**
   * False: no `days_since_last`, whose aging makes every run re-read every entity with a row in
   * its window; without it a run reads only the entities whose values changed.
   */
  readonly daysSinceLast?: boolean;
  /** True: `spend` with a 7-day window too (a new version of the view, with new items). */
  readonly weekWindow?: boolean;
  /** True: `spend_twin`, a second tile-fed view of `payments` (1-day count of `amount`). */
  readonly twin?: boolean;
}

/** tileRegistry's definitions, for an offline fixture. */
export function tileDefinitions(options: TileDefinitionOptions = {}) {
  return [
    defineAggregationView({
      name: 'spend',
      entities: [customer],
      source: paymentsSource,
      aggregations: {
        amount: {
          functions: [
            'count',
            'sum',
            'avg',
            'min',
            'max',
            'last',
            ...(options.daysSinceLast === false ? [] : ['days_since_last' as const]),
          ],
          windows: ['10m', '1d', ...(options.weekWindow ? ['7d'] : []), '30d'],
        },
        status: { functions: ['count', 'last', 'count_distinct'], windows: ['1d'] },
      },
      online: true,
      ...(options.onlineTiles === false ? {} : { onlineTiles: true }),
      schedule: 'rate(1 hour)',
    }),
    ...(options.twin
      ? [
          defineAggregationView({
            name: 'spend_twin',
            entities: [customer],
            source: paymentsSource,
            aggregations: { amount: { functions: ['count'], windows: ['1d'] } },
            online: true,
            onlineTiles: true,
            schedule: 'rate(1 hour)',
          }),
        ]
      : []),
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
