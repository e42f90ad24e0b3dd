import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  defineEntity,
  defineFeatureService,
  defineFeatureView,
  defineOnDemandView,
  defineSource,
  type FeatureView,
  type ValueType,
} from '../lib/definitions/index.ts';
import { writeOnlineRows } from '../lib/online/online-writer.ts';
import { compileRegistry, type Registry } from '../lib/registry/index.ts';

/** The online table the lookup benchmarks read. */
export const benchOnlineTable = 'fstore-bench-online';

/**
 * The lookup benchmarks' registry: 3 online views of 17, 17 and 16 features (every third a
 * string, the rest float64) on one customer entity, served together as `bench_service`.
 */
export function benchOnlineRegistry(): Registry {
  return compileRegistry([{ definition: benchOnlineDefinitions().service }]);
}

/** Name of the service that serves `bench_service`'s features and an on-demand view. */
export const benchOnDemandService = 'bench_service_on_demand';

/**
 * benchOnlineRegistry's views and `bench_service`, plus `bench_service_on_demand`: the same 50
 * features and the on-demand view `basket_ratio` (1 request value, 2 stored inputs of view_0,
 * 2 outputs), so the two services read the same items and differ only by the transform.
 * Lookups of it send `basket_amount` with each entity.
 */
export function benchOnDemandRegistry(): Registry {
  const { views, service } = benchOnlineDefinitions();
  const basketRatio = defineOnDemandView({
    name: 'basket_ratio',
    request: { basket_amount: 'float64' },
    inputs: [views[0].select(['v0_f1', 'v0_f2'])],
    features: { basket_to_monthly: 'float64', big_basket: { type: 'bool', nullable: false } },
    transform: (row) => ({
      basket_to_monthly: row.v0_f1 ? row.basket_amount / row.v0_f1 : null,
      big_basket: row.v0_f2 === null ? row.basket_amount > 100 : row.basket_amount > 2 * row.v0_f2,
    }),
  });
  const onDemand = defineFeatureService({
    name: benchOnDemandService,
    features: [...views, basketRatio],
  });
  return compileRegistry([{ definition: service }, { definition: onDemand }]);
}

function benchOnlineDefinitions() {
  const customer = defineEntity({
    name: 'customer',
    joinKeys: [{ name: 'customer_id', type: 'string' }],
  });
  const views = [17, 17, 16].map((count, v) => {
    const features: Record<string, ValueType> = Object.fromEntries(
      Array.from({ length: count }, (_, i) => [`v${v}_f${i}`, i % 3 === 0 ? 'string' : 'float64']),
    );
    const source = defineSource({
      name: `src_${v}`,
      schema: { customer_id: 'string', ...features, event_ts: 'timestamp' },
      timestampField: 'event_ts',
    });
    return defineFeatureView({
      name: `view_${v}`,
      entities: [customer],
      source,
      features,
      online: true,
      schedule: 'rate(1 hour)',
    });
  }) as [FeatureView, FeatureView, FeatureView];
  const service = defineFeatureService({ name: 'bench_service', features: views });
  return { views, service };
}

/** One row per id in every view of `registry`, event time now: string features `value-<i>`, others i × 1.5. */
export async function writeBenchOnlineRows(
  client: DynamoDBClient,
  registry: Registry,
  ids: readonly string[],
  concurrency: number,
): Promise<void> {
  for (const view of registry.featureViews)
    await writeOnlineRows(
      client,
      benchOnlineTable,
      view,
      ids.map((id, i) => ({
        values: {
          customer_id: id,
          ...Object.fromEntries(
            view.features.map((f) => [f.name, f.type === 'string' ? `value-${i}` : i * 1.5]),
          ),
        },
        eventTs: new Date().toISOString(),
      })),
      { concurrency },
    );
}
