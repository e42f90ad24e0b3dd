import { type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DependencyFailure, handleRequest } from '../../lib/api/handle-request.ts';
import { epochMicrosOf, formatMicros } from '../../lib/epoch-micros.ts';
import { type LocalDynamo, startDynalite } from '../../lib/local/dynalite-server.ts';
import { TileItemCache } from '../../lib/online/aggregation-tiles/tile-item-cache.ts';
import { minuteItemKey } from '../../lib/online/aggregation-tiles/tile-items.ts';
import { tileStart } from '../../lib/online/aggregation-tiles/tile-sizes.ts';
import { sdkBatchGet } from '../../lib/online/dynamodb-batch-get/sdk-batch-get.ts';
import { partitionKey } from '../../lib/online/entity-key.ts';
import { fetchLookup } from '../../lib/online/online-lookup.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { executePush } from '../../lib/push/execute-push.ts';
import { defaultPushLimits } from '../../lib/push/push-limits.ts';
import { paymentRow } from '../helpers/push-registry.ts';
import { tileRegistry } from '../helpers/tile-registry.ts';

const registry = tileRegistry();
const minute = 60_000_000n;
const at = epochMicrosOf('2026-03-01T12:00:30.250000Z');
const atMs = Number(at / 1000n);
const table = 'fstore-damaged-tile-item';
let dynamo: LocalDynamo;
let client: DynamoDBClient;

const spend = registry.featureViews.find((v) => v.name === 'spend');
if (!spend?.onlineStore) throw new Error('tileRegistry has no online spend view');
// Customer D1's one pushed row, 10 s ago: its minute item is every window's raw upper edge.
const rowMicros = at - 10_000_000n;
const damagedKey = minuteItemKey(
  partitionKey(spend.onlineStore.keyPrefix, 'customer_id=D1'),
  tileStart(rowMicros, minute),
);

const lookup = (tileCache?: TileItemCache) => {
  const logged: DependencyFailure[] = [];
  const unexpected: unknown[] = [];
  const answer = handleRequest(
    {
      method: 'POST',
      path: '/v1/feature-views/spend',
      body: JSON.stringify({ entities: [{ customer_id: 'D1' }] }),
      requestId: 'req-d1',
    },
    {
      registry,
      limits: { maxEntities: 10, maxBodyBytes: 10_000 },
      lookup: (request, call) =>
        fetchLookup(sdkBatchGet(client), table, registry, request, {
          now: () => atMs,
          ...(tileCache ? { tileCache } : {}),
          ...call,
        }),
      health: async () => true,
      onDependencyError: (failure) => logged.push(failure),
      onUnexpectedError: (error) => unexpected.push(error),
    },
  );
  return { answer, logged, unexpected };
};

describe('a lookup meeting a damaged tile item', () => {
  beforeAll(async () => {
    dynamo = await startDynalite();
    client = localDynamoClient(dynamo.endpoint);
    await ensureLocalTable(client, table);
    await executePush(
      { registry, online: { client, table }, now: () => atMs },
      defaultPushLimits,
      'payments',
      {
        rows: [paymentRow(formatMicros(rowMicros), { customer_id: 'D1', amount: 1.5 })],
        to: 'online',
      },
    );
  });
  afterAll(async () => {
    client.destroy();
    await dynamo.close();
  });

  it('answers 200 before the damage (the item is the one the lookup reads)', async () => {
    const { answer } = lookup();
    expect((await answer).statusCode).toBe(200);
  });

  it('answers 500 naming the damaged item, without a stack, and logs it as an error with what to do', async () => {
    await client.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { pk: { S: damagedKey } },
        UpdateExpression: 'SET r = :r',
        ConditionExpression: 'attribute_exists(r)',
        ExpressionAttributeValues: { ':r': { S: '{"not":"a list"}' } },
      }),
    );
    for (const tileCache of [undefined, new TileItemCache()]) {
      const { answer, logged, unexpected } = lookup(tileCache);
      const response = await answer;
      expect(response.statusCode).toBe(500);
      expect(response.headers).not.toHaveProperty('retry-after');
      const body = JSON.parse(response.body);
      expect(body.error).toMatchObject({ code: 'INTERNAL', details: { requestId: 'req-d1' } });
      expect(body.error.message).toContain(
        `the rows of minute item ${damagedKey} are damaged: not a list`,
      );
      expect(body.error.message).toContain('req-d1');
      expect(response.body).not.toMatch(/\bat .*\.ts:\d+/);
      expect(unexpected).toEqual([]);
      expect(logged).toHaveLength(1);
      expect(logged[0]).toMatchObject({ level: 'error', code: 'INTERNAL', requestId: 'req-d1' });
      expect(logged[0]?.detail).toContain(damagedKey);
      expect(logged[0]?.hint).toMatch(/point-in-time recovery/);
    }
  });
});
