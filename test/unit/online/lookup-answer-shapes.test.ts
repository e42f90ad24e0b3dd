import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import type { BatchGetItems } from '../../../lib/online/dynamodb-batch-get/batch-get-items.ts';
import { itemAttributes as a } from '../../../lib/online/item-codec.ts';
import { LookupCache } from '../../../lib/online/lookup-cache.ts';
import {
  fetchLookup,
  lookupFeatures,
  OnlineStoreUnavailableError,
} from '../../../lib/online/online-lookup.ts';
import { onlineRegistry } from '../../helpers/online-registry.ts';

// What the lookup makes of answers a store may give besides the usual one: rounds with no
// Responses at all, items without a features map or a key, and misses kept in the hot-key cache.

type Item = Record<string, AttributeValue>;
const table = 'fstore-test-online';
const nowMs = Date.parse('2026-03-02T00:00:00Z');
const eventMicros = String(BigInt(nowMs - 3_600_000) * 1000n);
const noWait = { now: () => nowMs, sleep: async () => {}, random: () => 0.5 };
const amountRequest = (ids: string[]) => ({
  views: [{ view: 'last_order', features: [{ feature: 'amount', outputName: 'amount' }] }],
  entities: ids.map((customer_id) => ({ customer_id })),
});

/** The keys a BatchGetItem input asks for. */
function keysOf(input: Parameters<BatchGetItems>[0]): string[] {
  return (input.RequestItems?.[table]?.Keys ?? []).map((key) => key[a.key]?.S ?? '');
}

/** A store that answers each round with `answer(keys asked, round number)`. */
function storeAnswering(
  answer: (keys: string[], round: number) => Awaited<ReturnType<BatchGetItems>>,
): BatchGetItems & { rounds: string[][] } {
  const rounds: string[][] = [];
  const store = async (input: Parameters<BatchGetItems>[0]) => {
    rounds.push(keysOf(input));
    return answer(keysOf(input), rounds.length);
  };
  return Object.assign(store, { rounds });
}

const itemOf = (key: string, features?: Item): Item => ({
  [a.key]: { S: key },
  [a.eventTs]: { N: eventMicros },
  ...(features ? { [a.features]: { M: features } } : {}),
});

describe('online lookup: answers of unusual shape', () => {
  it('reads a round that answers with unprocessed keys only (no Responses) and retries them', async () => {
    const store = storeAnswering((keys, round) =>
      round === 1
        ? { UnprocessedKeys: { [table]: { Keys: keys.map((key) => ({ [a.key]: { S: key } })) } } }
        : { Responses: { [table]: keys.map((key) => itemOf(key, { amount: { N: '4.5' } })) } },
    );
    const { registry } = onlineRegistry();
    const [result] = await lookupFeatures(store, table, registry, amountRequest(['C1']), noWait);
    expect(result?.amount?.value).toBe(4.5);
    expect(store.rounds).toHaveLength(2);
  });

  it('reports NULL_VALUE for an item that has no features map, rather than failing', async () => {
    const store = storeAnswering((keys) => ({
      Responses: { [table]: keys.map((key) => itemOf(key)) },
    }));
    const { registry } = onlineRegistry();
    const [result] = await lookupFeatures(store, table, registry, amountRequest(['C1']), noWait);
    expect(result?.amount).toEqual({
      value: null,
      status: 'NULL_VALUE',
      event_timestamp: '2026-03-01T23:00:00.000000Z',
    });
  });

  it('skips an answered item that carries no key, and reports the entity not found', async () => {
    const store = storeAnswering(() => ({
      Responses: { [table]: [{ [a.eventTs]: { N: eventMicros } }] },
    }));
    const { registry } = onlineRegistry();
    const [result] = await lookupFeatures(store, table, registry, amountRequest(['C1']), noWait);
    expect(result?.amount?.status).toBe('NOT_FOUND');
  });

  it('names the keys left unprocessed and the attempts made when the store never reads them', async () => {
    const store = storeAnswering((keys) => ({
      Responses: { [table]: [] },
      UnprocessedKeys: { [table]: { Keys: keys.map((key) => ({ [a.key]: { S: key } })) } },
    }));
    const { registry } = onlineRegistry();
    const failure = await lookupFeatures(
      store,
      table,
      registry,
      amountRequest(['C1', 'C2', 'C3']),
      {
        ...noWait,
        maxAttempts: 2,
      },
    ).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OnlineStoreUnavailableError);
    expect((failure as OnlineStoreUnavailableError).message).toBe(
      'the online store left 3 key(s) unprocessed after 2 attempts',
    );
    expect((failure as OnlineStoreUnavailableError).hint).toBe(
      'retry the request; the table is throttled or unavailable',
    );
    expect(store.rounds).toHaveLength(2);
  });

  it('gives a miss kept in the cache as no item (undefined), as a miss read from the store', async () => {
    const store = storeAnswering(() => ({ Responses: { [table]: [] } }));
    const { registry } = onlineRegistry();
    const cache = new LookupCache(60_000, 100, () => nowMs);
    const options = { ...noWait, cache };
    const fromStore = await fetchLookup(store, table, registry, amountRequest(['C1']), options);
    const fromCache = await fetchLookup(store, table, registry, amountRequest(['C1']), options);
    expect(store.rounds).toHaveLength(1);
    expect(fromStore.items).toStrictEqual([undefined]);
    expect(fromCache.items).toStrictEqual([undefined]);
  });
});
