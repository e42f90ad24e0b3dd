import {
  type AttributeValue,
  BatchGetItemCommand,
  DeleteItemCommand,
  type DynamoDBClient,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { epochMicrosOf, formatMicros } from '../../lib/epoch-micros.ts';
import { type LocalDynamo, startDynalite } from '../../lib/local/dynalite-server.ts';
import { TileItemCache } from '../../lib/online/aggregation-tiles/tile-item-cache.ts';
import { headItemKey } from '../../lib/online/aggregation-tiles/tile-items.ts';
import type { BatchGetItems } from '../../lib/online/dynamodb-batch-get/batch-get-items.ts';
import { encodeEntityKey, partitionKey } from '../../lib/online/entity-key.ts';
import { lookupFeatures } from '../../lib/online/online-lookup.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { executePush } from '../../lib/push/execute-push.ts';
import { defaultPushLimits } from '../../lib/push/push-limits.ts';
import { paymentRow } from '../helpers/push-registry.ts';
import { tileRegistry } from '../helpers/tile-registry.ts';

const registry = tileRegistry();
const features = (registry.featureViews.find((v) => v.name === 'spend')?.aggregations ?? [])
  .filter((a) => a.function !== 'count_distinct')
  .map((a) => ({ feature: a.feature, outputName: a.feature }));
const minute = 60_000_000n;
const at = epochMicrosOf('2026-03-01T12:00:30.250000Z');
const ago = (minutes: bigint) => formatMicros(at - minutes * minute - 7n);
let dynamo: LocalDynamo;
let client: DynamoDBClient;
const table = 'fstore-tiles-cached-lookup';

/** A BatchGetItem that counts the keys it is sent and how many of them read consistently. */
function countingBatchGet() {
  const sent = { keys: 0, consistent: 0 };
  const batchGet: BatchGetItems = async (input) => {
    for (const request of Object.values(input.RequestItems ?? {})) {
      sent.keys += request.Keys?.length ?? 0;
      if (request.ConsistentRead) sent.consistent += request.Keys?.length ?? 0;
    }
    return client.send(new BatchGetItemCommand(input));
  };
  return { sent, batchGet };
}

/**
 * A BatchGetItem whose eventually consistent reads of head items lag: after `freeze()` they
 * answer with the heads as they were then, as a DynamoDB replica behind the leader may.
 */
function laggingHeadsBatchGet() {
  const frozen = new Map<string, Record<string, AttributeValue>>();
  let lagging = false;
  const batchGet: BatchGetItems = async (input) => {
    const output = await client.send(new BatchGetItemCommand(input));
    if (!lagging) return output;
    for (const [name, request] of Object.entries(input.RequestItems ?? {})) {
      if (request.ConsistentRead) continue;
      const items = output.Responses?.[name] ?? [];
      for (const [index, item] of items.entries()) {
        const old = frozen.get(item.pk?.S ?? '');
        if (old) items[index] = old;
      }
    }
    return output;
  };
  const freeze = async () => {
    const scanned = await client.send(new ScanCommand({ TableName: table }));
    for (const item of scanned.Items ?? [])
      if (item.pk?.S?.endsWith('|head')) frozen.set(item.pk.S, item);
    lagging = true;
  };
  return { batchGet, freeze };
}

const push = (rows: Record<string, unknown>[], pushId?: string) =>
  executePush(
    { registry, online: { client, table }, now: () => Number(at / 1000n) },
    defaultPushLimits,
    'payments',
    { rows, to: 'online' },
    pushId === undefined ? undefined : { pushId },
  );

describe('tile lookups served from a process cache of tile items (ADR 0020, "Cached tiles")', () => {
  beforeAll(async () => {
    dynamo = await startDynalite();
    client = localDynamoClient(dynamo.endpoint);
    await ensureLocalTable(client, table);
  });
  afterAll(async () => {
    client.destroy();
    await dynamo.close();
  });

  it('reads only the head items while nothing was written, and sees a late push into a closed block at once', async () => {
    await push([
      paymentRow(ago(20n * 1440n), { customer_id: 'L1', amount: 1.25 }),
      paymentRow(ago(120n), { customer_id: 'L1', amount: 2 }),
      paymentRow(ago(3n), { customer_id: 'L2', amount: 0.1 }),
    ]);
    const cache = new TileItemCache();
    const { sent, batchGet } = countingBatchGet();
    const request = {
      views: [{ view: 'spend', features }],
      entities: [{ customer_id: 'L1' }, { customer_id: 'L2' }],
    };
    const cached = (ms = 0) =>
      lookupFeatures(batchGet, table, registry, request, {
        now: () => Number(at / 1000n) + ms,
        tileCache: cache,
      });
    const uncached = (ms = 0) =>
      lookupFeatures(client, table, registry, request, { now: () => Number(at / 1000n) + ms });

    // Cold: heads and items in one round, which only the next lookup's round may cache.
    expect(await cached()).toEqual(await uncached());
    const coldRead = sent.keys;
    expect(sent.consistent).toBe(coldRead);
    expect(await cached(2)).toEqual(await uncached(2));
    expect(sent.keys - coldRead).toBe(coldRead);
    const firstRead = sent.keys;
    // Nothing written since, same minute: only the two entities' head items are read.
    expect(await cached(5)).toEqual(await uncached(5));
    expect(sent.keys - firstRead).toBe(2);

    // A late row 15 days back lands in a whole day tile the cache holds: the head changes.
    await push([paymentRow(ago(15n * 1440n), { customer_id: 'L1', amount: 4 })], 'late-1');
    const afterLate = await cached(10);
    expect(afterLate).toEqual(await uncached(10));
    expect(afterLate[0]?.amount_count_30d?.value).toBe(3);
    expect(afterLate[0]?.amount_sum_30d?.value).toBe(7.25);

    // The same keyed push again counts once, cached or not.
    await push([paymentRow(ago(15n * 1440n), { customer_id: 'L1', amount: 4 })], 'late-1');
    const retried = await cached(15);
    expect(retried).toEqual(await uncached(15));
    expect(retried[0]?.amount_count_30d?.value).toBe(3);

    // Later instants, nothing written: the windows move on over the cached tiles and edges.
    for (const ms of [61_000, 185_001, 3_600_007, 86_400_000 - 120_000, 86_400_000 + 59_999])
      expect(await cached(ms)).toEqual(await uncached(ms));
  });

  it('sees a push that returned even where an eventually consistent read still serves the old head', async () => {
    await push([paymentRow(ago(2n), { customer_id: 'E1', amount: 3 })]);
    const cache = new TileItemCache();
    const request = { views: [{ view: 'spend', features }], entities: [{ customer_id: 'E1' }] };
    const { batchGet, freeze } = laggingHeadsBatchGet();
    const options = { now: () => Number(at / 1000n), tileCache: cache };
    const before = await lookupFeatures(batchGet, table, registry, request, options);
    expect(before[0]?.amount_count_10m?.value).toBe(1);
    await freeze();
    await push([paymentRow(ago(1n), { customer_id: 'E1', amount: 5 })]);
    const after = await lookupFeatures(batchGet, table, registry, request, options);
    expect(after[0]?.amount_count_10m?.value).toBe(2);
    expect(after[0]?.amount_sum_10m?.value).toBe(8);
  });

  it('answers as the uncached lookup when the head item is gone (expired or erased)', async () => {
    await push([paymentRow(ago(2n), { customer_id: 'G1', amount: 3 })]);
    const cache = new TileItemCache();
    const request = { views: [{ view: 'spend', features }], entities: [{ customer_id: 'G1' }] };
    const options = { now: () => Number(at / 1000n), tileCache: cache };
    const before = await lookupFeatures(client, table, registry, request, options);
    expect(before[0]?.amount_count_10m?.value).toBe(1);
    await push([paymentRow(ago(1n), { customer_id: 'G1', amount: 5 })]);
    const view = registry.featureViews.find((v) => v.name === 'spend');
    if (!view) throw new Error('no spend view');
    const prefix = partitionKey(
      view.onlineStore.keyPrefix,
      encodeEntityKey(view.joinKeys, { customer_id: 'G1' }),
    );
    await client.send(
      new DeleteItemCommand({ TableName: table, Key: { pk: { S: headItemKey(prefix) } } }),
    );
    const after = await lookupFeatures(client, table, registry, request, options);
    expect(after[0]?.amount_count_10m?.value).toBe(2);
  });
});
