import {
  BatchGetItemCommand,
  DynamoDBClient,
  ProvisionedThroughputExceededException,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { encodeEntityKey, partitionKey } from '../../../lib/online/entity-key.ts';
import { LookupCache } from '../../../lib/online/lookup-cache.ts';
import { lookupFeatures, OnlineStoreUnavailableError } from '../../../lib/online/online-lookup.ts';
import { allFeatures, onlineRegistry } from '../../helpers/online-registry.ts';

const { registry, lastOrder } = onlineRegistry();
const dynamo = mockClient(DynamoDBClient);
const table = 'fstore-dev-online';
const now = () => Date.parse('2026-03-02T00:00:00Z');
const key = (id: string) =>
  partitionKey(
    lastOrder.onlineStore.keyPrefix,
    encodeEntityKey(lastOrder.joinKeys, { customer_id: id }),
  );
const item = (id: string, amount: number) => ({
  pk: { S: key(id) },
  event_ts: { N: '1772323200000000' },
  f: { M: { amount: { N: String(amount) } } },
});
const request = (ids: string[]) => ({
  views: [allFeatures[1] as (typeof allFeatures)[1]],
  entities: ids.map((customer_id) => ({ customer_id })),
});
const noWait = { sleep: async () => {}, random: () => 0.5, now };

describe('online lookup control flow (aws-sdk-client-mock)', () => {
  beforeEach(() => dynamo.reset());

  it('retries unprocessed keys and merges them, never reporting them as not found', async () => {
    dynamo
      .on(BatchGetItemCommand)
      .resolvesOnce({
        Responses: { [table]: [item('C1', 1)] },
        UnprocessedKeys: { [table]: { Keys: [{ pk: { S: key('C2') } }] } },
      })
      .resolvesOnce({ Responses: { [table]: [item('C2', 2)] } });
    const results = await lookupFeatures(
      new DynamoDBClient({}),
      table,
      registry,
      request(['C1', 'C2']),
      noWait,
    );
    expect(results.map((r) => [r.last_amount?.value, r.last_amount?.status])).toEqual([
      [1, 'PRESENT'],
      [2, 'PRESENT'],
    ]);
    const calls = dynamo.commandCalls(BatchGetItemCommand);
    expect(calls).toHaveLength(2);
    expect(calls[1]?.args[0].input.RequestItems?.[table]?.Keys).toEqual([{ pk: { S: key('C2') } }]);
  });

  it('gives up after the bounded retries with an unavailable error, not partial data', async () => {
    dynamo.on(BatchGetItemCommand).resolves({
      Responses: { [table]: [] },
      UnprocessedKeys: { [table]: { Keys: [{ pk: { S: key('C1') } }] } },
    });
    const delays: number[] = [];
    await expect(
      lookupFeatures(new DynamoDBClient({}), table, registry, request(['C1']), {
        ...noWait,
        maxAttempts: 4,
        sleep: async (ms) => void delays.push(ms),
      }),
    ).rejects.toThrow(OnlineStoreUnavailableError);
    expect(dynamo.commandCalls(BatchGetItemCommand)).toHaveLength(4);
    expect(delays).toEqual([12.5, 25, 50]);
  });

  it('turns throttling that outlasts the SDK retries into an unavailable error', async () => {
    dynamo
      .on(BatchGetItemCommand)
      .rejects(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }));
    await expect(
      lookupFeatures(new DynamoDBClient({}), table, registry, request(['C1']), noWait),
    ).rejects.toThrow('the online store failed: slow down');
  });

  it('fails the whole lookup when one of several chunks fails', async () => {
    const ids = Array.from({ length: 250 }, (_, i) => `C${i}`);
    let call = 0;
    dynamo.on(BatchGetItemCommand).callsFake(async (input) => {
      call += 1;
      if (call === 2) throw new Error('InternalServerError');
      const keys = input.RequestItems[table].Keys as { pk: { S: string } }[];
      return { Responses: { [table]: keys.map((k) => ({ ...item('x', 1), pk: k.pk })) } };
    });
    await expect(
      lookupFeatures(new DynamoDBClient({}), table, registry, request(ids), noWait),
    ).rejects.toThrow(OnlineStoreUnavailableError);
    const sizes = dynamo
      .commandCalls(BatchGetItemCommand)
      .map((c) => c.args[0].input.RequestItems?.[table]?.Keys?.length);
    expect(sizes).toEqual([100, 100, 50]);
  });

  it('asks only for the key, the event time and the requested features', async () => {
    dynamo.on(BatchGetItemCommand).resolves({ Responses: { [table]: [] } });
    await lookupFeatures(new DynamoDBClient({}), table, registry, request(['C1']), noWait);
    const input = dynamo.commandCalls(BatchGetItemCommand)[0]?.args[0].input.RequestItems?.[table];
    expect(input?.ProjectionExpression).toBe('#pk, #e, #f.#f0');
    expect(input?.ExpressionAttributeNames).toEqual({
      '#pk': 'pk',
      '#e': 'event_ts',
      '#f': 'f',
      '#f0': 'amount',
    });
  });

  it('serves hot keys from the in-process cache until its TTL, misses included', async () => {
    dynamo.on(BatchGetItemCommand).resolves({ Responses: { [table]: [item('C1', 1)] } });
    let clock = 0;
    const cache = new LookupCache(1000, 100, () => clock);
    const client = new DynamoDBClient({});
    await lookupFeatures(client, table, registry, request(['C1', 'C2']), { ...noWait, cache });
    const again = await lookupFeatures(client, table, registry, request(['C1', 'C2']), {
      ...noWait,
      cache,
    });
    expect(again.map((r) => r.last_amount?.status)).toEqual(['PRESENT', 'NOT_FOUND']);
    expect(dynamo.commandCalls(BatchGetItemCommand)).toHaveLength(1);
    clock = 1000;
    await lookupFeatures(client, table, registry, request(['C1']), { ...noWait, cache });
    expect(dynamo.commandCalls(BatchGetItemCommand)).toHaveLength(2);
  });

  it('does not cache unless asked', async () => {
    dynamo.on(BatchGetItemCommand).resolves({ Responses: { [table]: [item('C1', 1)] } });
    const client = new DynamoDBClient({});
    await lookupFeatures(client, table, registry, request(['C1']), noWait);
    await lookupFeatures(client, table, registry, request(['C1']), noWait);
    expect(dynamo.commandCalls(BatchGetItemCommand)).toHaveLength(2);
  });
});
