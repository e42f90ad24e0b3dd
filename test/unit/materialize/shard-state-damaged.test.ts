import { type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalDynamo, startDynalite } from '../../../lib/local/dynalite-server.ts';
import { stateKey } from '../../../lib/materialize/materialization-state.ts';
import { ShardStateStore } from '../../../lib/materialize/shard-state.ts';
import { ensureLocalTable, localDynamoClient } from '../../../lib/online/online-table.ts';

// A shard checkpoint (`shard_<i>` of a view's state item) that does not read back: an edit by
// hand, a bug. The run must stop naming the item and the attribute, not with a bare SyntaxError.
const table = 'fstore-shard-state-damaged';
const keyPrefix = 'spend#v1';
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

const good = {
  runId: 'r1',
  shard: 0,
  done: true,
  counts: { rowsRead: 3, written: 3, skippedAsOlder: 0, rejected: 0 },
};

async function stateWith(shard1: string) {
  await client.send(
    new PutItemCommand({
      TableName: table,
      Item: {
        pk: { S: stateKey(keyPrefix) },
        shard_0: { S: JSON.stringify(good) },
        shard_1: { S: shard1 },
      },
    }),
  );
}

describe('ShardStateStore.read of a damaged shard checkpoint', () => {
  it.each([
    ['cut short', '{"runId":"r1","shard":1,"done":tr'],
    ['not a checkpoint', '[1,2]'],
    ['without counts', '{"runId":"r1","shard":1,"done":false}'],
  ])(
    'refuses one %s naming the state item and the attribute, with the way out',
    async (_, text) => {
      await stateWith(text);
      const read = new ShardStateStore(client, table, keyPrefix).read();
      await expect(read).rejects.toThrow(
        `shard_1 of the materialization state item ${stateKey(keyPrefix)}`,
      );
      await expect(read).rejects.toMatchObject({ hint: expect.stringContaining('REMOVE shard_1') });
    },
  );

  it('reads well-formed checkpoints as before', async () => {
    await stateWith(JSON.stringify({ ...good, shard: 1, done: false, afterKey: ['C9'] }));
    const shards = await new ShardStateStore(client, table, keyPrefix).read();
    expect(shards[0]).toEqual(good);
    expect(shards[1]).toEqual({ ...good, shard: 1, done: false, afterKey: ['C9'] });
  });
});
