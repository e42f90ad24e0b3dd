import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineAggregationView, defineEntity, defineSource } from '../../lib/definitions/index.ts';
import { epochMicrosOf, formatMicros } from '../../lib/epoch-micros.ts';
import { type LocalDynamo, startDynalite } from '../../lib/local/dynalite-server.ts';
import { lookupFeatures } from '../../lib/online/online-lookup.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { executePush } from '../../lib/push/execute-push.ts';
import { defaultPushLimits } from '../../lib/push/push-limits.ts';
import { compileRegistry } from '../../lib/registry/index.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';

const sensor = defineEntity({ name: 'sensor', joinKeys: [{ name: 'sensor_id', type: 'string' }] });
const readings = defineSource({
  name: 'readings',
  schema: { sensor_id: 'string', ratio: 'float32', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const definitions = [
  defineAggregationView({
    name: 'ratios',
    entities: [sensor],
    source: readings,
    aggregations: { ratio: { functions: ['sum', 'avg', 'min', 'max', 'last'], windows: ['1h'] } },
    online: true,
    onlineTiles: true,
    schedule: 'rate(1 hour)',
  }),
];
const features = ['ratio_sum_1h', 'ratio_avg_1h', 'ratio_min_1h', 'ratio_max_1h', 'ratio_last_1h'];
const t0 = epochMicrosOf('2026-03-01T00:00:00Z');
let dynamo: LocalDynamo;

describe('a float32 column pushed to a tile-fed view (issue 20)', () => {
  beforeAll(async () => {
    dynamo = await startDynalite();
  });
  afterAll(async () => dynamo.close());

  it('is aggregated online as the float32 the offline store keeps, as the training set does', async () => {
    const registry = compileRegistry(definitions.map((definition) => ({ definition })));
    const client = localDynamoClient(dynamo.endpoint);
    const table = 'fstore-tiles-push-float32';
    await ensureLocalTable(client, table);
    // 0.1 and 0.7 are not float32 values: the offline store keeps the nearest float32.
    const rows = [0.1, 0.7, 1 / 3].map((ratio, i) => ({
      sensor_id: 'S1',
      ratio,
      event_ts: formatMicros(t0 - BigInt(10 - i) * 60_000_000n),
    }));
    await executePush(
      { registry, online: { client, table }, now: () => Number(t0 / 1000n) },
      defaultPushLimits,
      'readings',
      { rows, to: 'online' },
    );
    const [online] = await lookupFeatures(
      client,
      table,
      registry,
      {
        views: [{ view: 'ratios', features: features.map((f) => ({ feature: f, outputName: f })) }],
        entities: [{ sensor_id: 'S1' }],
      },
      { now: () => Number(t0 / 1000n) },
    );
    const fixture = await offlineFixture(definitions);
    await fixture.ingest('readings', rows);
    const offline = await fixture.trainingSet(
      [{ sensor_id: 'S1', event_timestamp: formatMicros(t0) }],
      { request: { features: features.map((f) => `ratios:${f}`) } },
    );
    const got = Object.fromEntries(features.map((f) => [f, online?.[f]?.value]));
    const want = Object.fromEntries(features.map((f) => [f, offline.records?.[0]?.[f]]));
    expect(got).toEqual(want);
    expect(Object.is(got.ratio_sum_1h, want.ratio_sum_1h)).toBe(true);
  }, 120_000);
});
