import { type AttributeValue, type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { formatMicros } from '../../lib/epoch-micros.ts';
import type { LocalDynamo } from '../../lib/local/dynalite-server.ts';
import { materializeLocal } from '../../lib/local/materialize-local.ts';
import { plannedOnlineView } from '../../lib/materialize/materialize-view.ts';
import { duckdbTileBaseWriter } from '../../lib/materialize/tile-base-writer.ts';
import { openDuckdb } from '../../lib/offline/duckdb-session.ts';
import { type IngestRecord, readManifest } from '../../lib/offline/ingest-manifest.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { TileItemCache } from '../../lib/online/aggregation-tiles/tile-item-cache.ts';
import { itemAttributes } from '../../lib/online/item-codec.ts';
import { lookupFeatures } from '../../lib/online/online-lookup.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { compactPushLogs } from '../../lib/push/compact-push-logs.ts';
import { executePush } from '../../lib/push/execute-push.ts';
import type { PushIdentity } from '../../lib/push/push-id.ts';
import { defaultPushLimits } from '../../lib/push/push-limits.ts';
import { placePushLog } from '../../lib/push/push-log.ts';
import type { Registry } from '../../lib/registry/index.ts';
import { duckdbDialect } from '../../lib/sql/duckdb-dialect.ts';
import { runFaultChild } from './fault-child-process.ts';
import { offlineFixture } from './offline-fixture.ts';
import { customers, same, t0 } from './tile-payment-rows.ts';
import { type TileDefinitionOptions, tileDefinitions } from './tile-registry.ts';

let tables = 0;

/**
 * A local environment (offline store, dynalite table) with the tile-fed view `spend`: batch
 * ingests, pushes that log offline (their logs wait until a materialization or compaction
 * ingests them), local materialization, and lookups at an instant with or without one cache.
 */
export async function tileEnvironment(dynamo: LocalDynamo, variant: TileDefinitionOptions = {}) {
  const fixture = await offlineFixture(tileDefinitions(variant));
  const { registry, dataDir } = fixture;
  const spend = registry.featureViews.find((v) => v.name === 'spend');
  const features = (spend?.aggregations ?? [])
    .filter((a) => a.function !== 'count_distinct')
    .map((a) => a.feature);
  const client = localDynamoClient(dynamo.endpoint);
  const table = `fstore-tiles-materialized-${tables++}`;
  await ensureLocalTable(client, table);
  const tileCache = new TileItemCache();
  const push = (
    at: bigint,
    rows: Record<string, unknown>[],
    to: 'online_and_offline' | 'offline' = 'online_and_offline',
    keyed: { identity?: PushIdentity; client?: DynamoDBClient; registry?: Registry } = {},
  ) =>
    executePush(
      {
        registry: keyed.registry ?? registry,
        online: { client: keyed.client ?? client, table },
        offline: async (source, pushed, identity) => {
          const placed = await placePushLog(
            dataDir,
            'local',
            source,
            pushed,
            identity.pushId,
            identity,
          );
          await placed.durable;
          return { pushLog: placed.pushLog };
        },
        now: () => Number(at / 1000n),
      },
      defaultPushLimits,
      'payments',
      { rows, to },
      ...(keyed.identity ? [keyed.identity] : []),
    );
  const materialize = (
    at: bigint,
    extra: { tileBaseBeforeToken?: () => void; client?: DynamoDBClient; registry?: Registry } = {},
  ) =>
    materializeLocal({
      registry,
      dataDir,
      env: 'local',
      client,
      table,
      views: ['spend'],
      now: () => Number(at / 1000n),
      ...extra,
    });
  const lookupAt = async (at: bigint, cached: boolean) =>
    (
      await lookupFeatures(
        client,
        table,
        registry,
        {
          views: [
            { view: 'spend', features: features.map((f) => ({ feature: f, outputName: f })) },
          ],
          entities: customers.map((customer_id) => ({ customer_id })),
        },
        { now: () => Number(at / 1000n), ...(cached ? { tileCache } : {}) },
      )
    ).map((result) => Object.fromEntries(features.map((f) => [f, result[f]?.value ?? null])));
  /** The training set at each lookup, once every push log is ingested; mismatches as text. */
  const mismatches = async (
    lookups: readonly { at: bigint; customer: string; values: Record<string, unknown> }[],
  ) => {
    await compactPushLogs({ registry, dataDir, env: 'local' });
    const offline = await fixture.trainingSet(
      lookups.map((o) => ({ customer_id: o.customer, event_timestamp: formatMicros(o.at) })),
      { request: { features: features.map((f) => `spend:${f}`) } },
    );
    const found: string[] = [];
    lookups.forEach((o, i) => {
      for (const f of features) {
        const want = offline.records?.[i]?.[f] ?? null;
        const got = o.values[f] ?? null;
        if (!same(got, want))
          found.push(
            `${o.customer} ${f} at ${formatMicros(o.at)}: ${String(got)} vs ${String(want)}`,
          );
      }
    });
    return found;
  };
  /** Every tile item (minute items and blocks) as stored, by key. */
  const tileItems = async () => {
    const items = new Map<string, Record<string, AttributeValue>>();
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await client.send(
        new ScanCommand({ TableName: table, ConsistentRead: true, ExclusiveStartKey: start }),
      );
      for (const item of page.Items ?? []) {
        const key = item[itemAttributes.key]?.S ?? '';
        if (/\|(raw|tiles)#/.test(key)) items.set(key, item);
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  };
  /** A tile base writer run by hand over the customers at t0, with the commit records given. */
  const writeBases = async (records: readonly IngestRecord[], writeClient = client) => {
    const root = offlineRoot(fixture.dataDir, 'local');
    const session = await openDuckdb();
    try {
      const { view, planned } = plannedOnlineView(registry, 'spend');
      const writer = duckdbTileBaseWriter({
        registry,
        view,
        planned,
        records: async () => records,
        connection: async () => session.connection,
        dialect: duckdbDialect(root),
        client: writeClient,
        table,
        now: () => Number(t0 / 1000n),
      });
      return await writer?.writeEntities(customers.map((customer_id) => ({ customer_id })));
    } finally {
      session.close();
    }
  };
  const records = async () => (await readManifest(offlineRoot(fixture.dataDir, 'local'))) ?? [];
  const lookupRecords = (at: bigint, values: Record<string, unknown>[]) =>
    values.map((v, i) => ({ at, customer: customers[i] as string, values: v }));
  /** A local materialization in a process of its own, killed with SIGKILL at `fault`. */
  const materializeInChild = (at: bigint, fault: string, chunkRows?: number) =>
    runFaultChild('materialize-tiles-child.ts', fault, {
      FSTORE_TEST_DYNAMO: dynamo.endpoint,
      FSTORE_TEST_TABLE: table,
      FSTORE_TEST_DATA_DIR: dataDir,
      FSTORE_TEST_NOW_MS: String(at / 1000n),
      ...(chunkRows ? { FSTORE_TEST_CHUNK_ROWS: String(chunkRows) } : {}),
      FSTORE_TEST_TILE_DEFINITIONS: JSON.stringify(variant),
    });
  return {
    materializeInChild,
    fixture,
    client,
    table,
    push,
    materialize,
    lookupAt,
    mismatches,
    features,
    tileItems,
    writeBases,
    records,
    lookupRecords,
  };
}
