import { type DynamoDBClient, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { epochMicrosOf } from '../../lib/epoch-micros.ts';
import { eraseOnlineItems } from '../../lib/erasure/online-erasure.ts';
import { type LocalDynamo, startDynalite } from '../../lib/local/dynalite-server.ts';
import { writeBaseTiles } from '../../lib/online/aggregation-tiles/write-base-tiles.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { sendTileRows, tileRowsOf } from '../../lib/push/push-tiles.ts';
import { pushRegistryProjection } from '../../lib/registry/runtime-projection.ts';
import { paymentRow } from '../helpers/push-registry.ts';
import { tileRegistry } from '../helpers/tile-registry.ts';

// An entity delete (fstore delete, local and AWS) removes the entity's aggregation tiles too:
// the minute items keep each pushed row's values (`<view>#<version>#<entity key>|raw#<minute>`)
// and the block items its sums (`...|tiles#<size>#<start>`).
const registry = pushRegistryProjection(tileRegistry());
const table = 'fstore-erase-tiles';
let dynamo: LocalDynamo;
let client: DynamoDBClient;

async function keysOf(customer: string): Promise<string[]> {
  const { Items } = await client.send(new ScanCommand({ TableName: table }));
  return (Items ?? [])
    .map((item) => item.pk?.S ?? '')
    .filter((pk) => new RegExp(`#customer_id=${customer}([|#]|$)`).test(pk))
    .sort();
}

async function pushTiles(customer: string, minutesAgo: number[]) {
  const rows = minutesAgo.map((m, index) => {
    const values = paymentRow(new Date(Date.now() - m * 60_000).toISOString(), {
      customer_id: customer,
    });
    return { index, values, eventTs: epochMicrosOf(String(values.event_ts)) };
  });
  const views = tileRowsOf(registry, 'payments', rows, (row) => `push-${customer}:${row.index}`);
  const [counts] = await sendTileRows({ client, table, nowMs: Date.now() }, views);
  expect(counts?.added).toBe(rows.length);
}

describe('an entity delete and the aggregation tiles pushes wrote', () => {
  beforeAll(async () => {
    dynamo = await startDynalite();
    client = localDynamoClient(dynamo.endpoint);
    await ensureLocalTable(client, table);
  });
  afterAll(async () => {
    client.destroy();
    await dynamo.close();
  });

  it('deletes the tile items of the key (raw minute rows and sums) and leaves another entity’s', async () => {
    await pushTiles('E1', [2, 90, 3 * 24 * 60]);
    await pushTiles('E2', [2]);
    expect((await keysOf('E1')).length).toBeGreaterThan(0);

    await eraseOnlineItems(
      client,
      table,
      [{ key: 'customer_id', type: 'string', value: 'E1' }],
      false,
    );

    expect(await keysOf('E1')).toEqual([]);
    expect((await keysOf('E2')).length).toBeGreaterThan(0);
  });

  it('keeps the item of an entity whose own value ends like a tile key (it has event_ts), and deletes it for that value', async () => {
    const prefix = registry.featureViews.find((v) => v.name === 'spend')?.onlineStore.keyPrefix;
    const pk = `${prefix}#customer_id=E3#raw#1795935660000000`;
    await client.send(
      new PutItemCommand({
        TableName: table,
        Item: { pk: { S: pk }, event_ts: { S: '2026-12-01T00:00:00.000000Z' } },
      }),
    );
    const erase = (value: string) =>
      eraseOnlineItems(client, table, [{ key: 'customer_id', type: 'string', value }], false);

    await erase('E3');
    expect(await keysOf('E3')).toEqual([pk]);
    await erase('E3#raw#1795935660000000');
    expect(await keysOf('E3')).toEqual([]);
  });

  it('deletes the tiles materialization wrote (base rows and tiles, items no push wrote) with the entity', async () => {
    const spend = registry.featureViews.find((v) => v.name === 'spend');
    const prefix = `${spend?.onlineStore.keyPrefix}#customer_id=E4`;
    const eventMicros = epochMicrosOf(new Date(Date.now() - 5 * 86_400_000).toISOString());
    const base = await writeBaseTiles(
      {
        client,
        table,
        prefix,
        sumKinds: { amount: 'float', status: 'none' },
        widestWindowSeconds: 30 * 86_400,
      },
      [{ eventMicros, createdMicros: null, seq: 7n, values: { amount: 2.5, status: 'ok' } }],
      7n,
    );
    // A minute item, hour, day and 32-day blocks, and the head's token.
    expect(base.written).toBe(4);
    expect((await keysOf('E4')).length).toBe(5);

    await eraseOnlineItems(
      client,
      table,
      [{ key: 'customer_id', type: 'string', value: 'E4' }],
      false,
    );
    expect(await keysOf('E4')).toEqual([]);
  });
});
