import {
  DeleteTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  GetItemCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalDynamo, startDynalite } from '../../../lib/local/dynalite-server.ts';
import {
  ensureLocalTable,
  localDynamoClient,
  localTableExists,
  onlineTableName,
} from '../../../lib/online/online-table.ts';
import {
  deleteIfHoldingCommand,
  type OnlineRow,
  putCommand,
} from '../../../lib/online/online-writer.ts';
import { onlineRegistry } from '../../helpers/online-registry.ts';

let dynamo: LocalDynamo;
let client: DynamoDBClient;
beforeAll(async () => {
  dynamo = await startDynalite();
  client = localDynamoClient(dynamo.endpoint);
});
afterAll(async () => {
  client.destroy();
  await dynamo.close();
});

/** A client whose every call answers with `answer` (an error is thrown), counting the calls. */
function fakeClient(answer: (command: unknown) => unknown): DynamoDBClient & { calls: number } {
  const fake = {
    calls: 0,
    async send(command: unknown) {
      fake.calls++;
      const result = answer(command);
      if (result instanceof Error) throw result;
      return result;
    },
  };
  return fake as unknown as DynamoDBClient & { calls: number };
}

describe('the local online table', () => {
  it('is named after the environment', () => {
    expect(onlineTableName('dev')).toBe('fstore-dev-online');
  });

  it('uses local credentials, region and three attempts', async () => {
    const local = localDynamoClient('http://127.0.0.1:1');
    expect(await local.config.region()).toBe('local');
    expect(await local.config.credentials()).toMatchObject({
      accessKeyId: 'local',
      secretAccessKey: 'local',
    });
    expect(await local.config.maxAttempts()).toBe(3);
    local.destroy();
  });

  it('is created once with a string hash key pk, billed per request, and found afterwards', async () => {
    expect(await localTableExists(client, 'fstore-t1-online')).toBe(false);
    await ensureLocalTable(client, 'fstore-t1-online');
    expect(await localTableExists(client, 'fstore-t1-online')).toBe(true);
    const { Table } = await client.send(
      new DescribeTableCommand({ TableName: 'fstore-t1-online' }),
    );
    expect(Table?.TableStatus).toBe('ACTIVE');
    expect(Table?.KeySchema).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }]);
    expect(Table?.AttributeDefinitions).toEqual([{ AttributeName: 'pk', AttributeType: 'S' }]);
    expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    // A second call finds it and creates nothing (a create would fail: the table exists).
    await ensureLocalTable(client, 'fstore-t1-online');
    await client.send(new DeleteTableCommand({ TableName: 'fstore-t1-online' }));
  });

  it('counts a not-found error by name as missing and throws any other error', async () => {
    const byName = fakeClient(() =>
      Object.assign(new Error('gone'), { name: 'ResourceNotFoundException' }),
    );
    expect(await localTableExists(byName, 't')).toBe(false);
    const typed = fakeClient(
      () => new ResourceNotFoundException({ message: 'gone', $metadata: {} }),
    );
    expect(await localTableExists(typed, 't')).toBe(false);
    const denied = fakeClient(() => Object.assign(new Error('denied'), { name: 'AccessDenied' }));
    await expect(localTableExists(denied, 't')).rejects.toThrow('denied');
  });

  it('waits for the new table to become ACTIVE and gives up after 100 looks, naming it', async () => {
    let describes = 0;
    const becomesActive = fakeClient((command) => {
      if (!(command instanceof DescribeTableCommand)) return {};
      describes++;
      if (describes === 1) return new ResourceNotFoundException({ message: 'no', $metadata: {} });
      return { Table: { TableStatus: describes < 4 ? 'CREATING' : 'ACTIVE' } };
    });
    await ensureLocalTable(becomesActive, 'slow');
    expect(describes).toBe(4);

    const neverActive = fakeClient((command) =>
      command instanceof DescribeTableCommand && neverActive.calls === 1
        ? new ResourceNotFoundException({ message: 'no', $metadata: {} })
        : { Table: { TableStatus: 'CREATING' } },
    );
    await expect(ensureLocalTable(neverActive, 'stuck')).rejects.toThrow(
      'table stuck did not become ACTIVE',
    );
    // One describe to find it missing, the create, then 100 describes.
    expect(neverActive.calls).toBe(102);
  });
});

describe('deleteIfHoldingCommand against dynalite', () => {
  const { profile } = onlineRegistry();
  const values = { customer_id: 'C1', plan: 'pro', charges: 1, tags: [] };
  const table = 'fstore-delete-online';
  beforeAll(() => ensureLocalTable(client, table));

  async function holds(row: OnlineRow, other: OnlineRow): Promise<boolean> {
    await client.send(putCommand(table, profile, row, 0));
    const deleted = await client
      .send(deleteIfHoldingCommand(table, profile, other))
      .then(() => true)
      .catch((error: Error) => {
        if (error.name !== 'ConditionalCheckFailedException') throw error;
        return false;
      });
    const key = putCommand(table, profile, row, 0).input.Item?.pk;
    if (!key) throw new Error('the put names no key');
    const left = await client.send(new GetItemCommand({ TableName: table, Key: { pk: key } }));
    expect(left.Item === undefined).toBe(deleted);
    if (left.Item) await client.send(deleteIfHoldingCommand(table, profile, row));
    return deleted;
  }

  const event = '2024-04-01T00:00:00Z';
  const created = '2024-04-01T00:00:01Z';

  it('deletes the item holding exactly that row, with or without created time and sequence', async () => {
    for (const row of [
      { values, eventTs: event },
      { values, eventTs: event, createdTs: created },
      { values, eventTs: event, seq: 7 },
      { values, eventTs: event, createdTs: created, seq: 7 },
    ])
      expect(await holds(row, row)).toBe(true);
  });

  it('leaves an item holding another row: other event, created time or sequence, or one term more', async () => {
    const full = { values, eventTs: event, createdTs: created, seq: 7 };
    expect(await holds(full, { ...full, eventTs: '2024-04-01T00:00:02Z' })).toBe(false);
    expect(await holds(full, { ...full, createdTs: '2024-04-01T00:00:02Z' })).toBe(false);
    expect(await holds(full, { ...full, seq: 8 })).toBe(false);
    expect(await holds(full, { values, eventTs: event, createdTs: created })).toBe(false);
    expect(await holds(full, { values, eventTs: event, seq: 7 })).toBe(false);
    expect(await holds({ values, eventTs: event }, full)).toBe(false);
  });

  it('names the view, entity and field of a row it cannot encode', () => {
    expect(() =>
      deleteIfHoldingCommand(table, profile, { values, eventTs: event, seq: 'x1' }),
    ).toThrow('profile[customer_id=C1].fstore_seq is not an integer: x1');
  });
});
