import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import type { BatchGetItems } from '../../../lib/online/dynamodb-batch-get/batch-get-items.ts';
import { itemAttributes as a } from '../../../lib/online/item-codec.ts';
import { lookupFeatures } from '../../../lib/online/online-lookup.ts';
import { onlineRegistry } from '../../helpers/online-registry.ts';

const nowMs = Date.parse('2026-03-02T00:00:00Z');
const dayMicros = 86_400_000_000n;

/** A table holding one item per key, each with the given event time in microseconds. */
function tableOf(eventMicros: bigint): BatchGetItems {
  return async (input) => {
    const [table, request] = Object.entries(input.RequestItems ?? {})[0] ?? [];
    const items = (request?.Keys ?? []).map(
      (key): Record<string, AttributeValue> => ({
        [a.key]: key[a.key] as AttributeValue,
        [a.eventTs]: { N: eventMicros.toString() },
        [a.features]: { M: { plan: { S: 'pro' }, amount: { N: '2.5' } } },
      }),
    );
    return { Responses: { [table as string]: items } };
  };
}

async function statusAt(ageMicros: bigint) {
  const { registry } = onlineRegistry();
  const [result] = await lookupFeatures(
    tableOf(BigInt(nowMs) * 1000n - ageMicros),
    'fstore-test-online',
    registry,
    {
      views: [
        { view: 'profile', features: [{ feature: 'plan', outputName: 'plan' }] },
        { view: 'last_order', features: [{ feature: 'amount', outputName: 'amount' }] },
      ],
      entities: [{ customer_id: 'C1' }],
    },
    { now: () => nowMs },
  );
  return { profile: result?.plan, lastOrder: result?.amount };
}

describe("a view's TTL applied at read time", () => {
  it('serves an item exactly as old as the TTL (one day), in microseconds', async () => {
    const { profile } = await statusAt(dayMicros);
    expect(profile).toEqual({
      value: 'pro',
      status: 'PRESENT',
      event_timestamp: '2026-03-01T00:00:00.000000Z',
    });
  });

  it('reports an item one microsecond older than the TTL as outside it, with no value', async () => {
    const { profile } = await statusAt(dayMicros + 1n);
    expect(profile).toEqual({
      value: null,
      status: 'OUTSIDE_TTL',
      event_timestamp: '2026-02-28T23:59:59.999999Z',
    });
  });

  it('serves an item of a view without TTL however old it is', async () => {
    const { lastOrder } = await statusAt(3650n * dayMicros);
    expect(lastOrder?.status).toBe('PRESENT');
    expect(lastOrder?.value).toBe(2.5);
  });
});
