import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  defineEntity,
  defineFeatureService,
  defineFeatureView,
  defineSource,
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
  });
  const service = defineFeatureService({ name: 'bench_service', features: views });
  return compileRegistry([{ definition: service }]);
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
