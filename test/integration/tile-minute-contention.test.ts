import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { epochMicrosOf } from '../../lib/epoch-micros.ts';
import { type LocalDynamo, startDynalite } from '../../lib/local/dynalite-server.ts';
import { TileContentionError } from '../../lib/online/aggregation-tiles/write-row-tiles.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { storeFailure } from '../../lib/push/push-store-failure.ts';
import { sendTileRows, tileRowsOf } from '../../lib/push/push-tiles.ts';
import { pushRegistryProjection } from '../../lib/registry/runtime-projection.ts';
import { paymentRow } from '../helpers/push-registry.ts';
import { tileRegistry } from '../helpers/tile-registry.ts';

// One busy entity: concurrent pushes of it in one minute all write its minute item.
const registry = pushRegistryProjection(tileRegistry());
const table = 'fstore-tile-contention';
let dynamo: LocalDynamo;
let client: DynamoDBClient;

beforeAll(async () => {
  dynamo = await startDynalite();
  client = localDynamoClient(dynamo.endpoint);
  await ensureLocalTable(client, table);
});
afterAll(async () => {
  client.destroy();
  await dynamo.close();
});

describe('tiles of one entity under concurrent pushes', () => {
  it('adds every row of 40 concurrent one-row pushes into one minute (writers back off and retry)', async () => {
    const at = new Date(Date.now() - 60_000).toISOString();
    const results = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) => {
        const values = paymentRow(at, { customer_id: 'HOT', amount: i });
        const rows = [{ index: 0, values, eventTs: epochMicrosOf(at) }];
        return sendTileRows(
          { client, table, nowMs: Date.now() },
          tileRowsOf(registry, 'payments', rows, () => `push-${i}:0`),
        );
      }),
    );
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
  });

  it('reports a minute item that stays contended past its attempts as the store failing (a push answers 503, retry safe)', () => {
    expect(storeFailure(new TileContentionError('minute item x changed', 'retry'))).toBe(true);
  });
});
