import {
  BatchGetItemCommand,
  type BatchGetItemCommandInput,
  DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { type BaseRow, baseItemsOf } from '../../../../lib/online/aggregation-tiles/base-tiles.ts';
import { readStoredBases } from '../../../../lib/online/aggregation-tiles/stored-bases.ts';

const dynamodb = mockClient(DynamoDBClient);
afterEach(() => dynamodb.reset());

const minute = 60_000_000n;
const start = 1_772_323_200_000_000n; // 2026-03-01T00:00:00Z
const prefix = 'spend#v1#K1';
/** One row in each of `minutes` minutes. */
const rows = (minutes: number): BaseRow[] =>
  Array.from({ length: minutes }, (_, i) => ({
    eventMicros: start + BigInt(i) * minute,
    createdMicros: null,
    seq: BigInt(i + 1),
    values: { amount: 1 },
  }));

describe('reading the stored bases of one entity', () => {
  it('walks the stored tree down to minute items the new base no longer holds, and reads again the keys left unprocessed', async () => {
    // Stored: 150 minutes (two hour blocks of 100 keys and more); the new base: the first minute.
    const stored = new Map(baseItemsOf(rows(150), { amount: 'float' }).map((i) => [i.suffix, i]));
    let calls = 0;
    dynamodb.on(BatchGetItemCommand).callsFake(async (input: BatchGetItemCommandInput) => {
      calls++;
      const keys = (input.RequestItems?.online?.Keys ?? []).map((k) => k.pk?.S ?? '');
      // Every first call of a level leaves its last key unprocessed.
      const [kept, left] =
        calls % 2 === 1 && keys.length > 1 ? [keys.slice(0, -1), keys.slice(-1)] : [keys, []];
      return {
        Responses: {
          online: kept.flatMap((pk: string) => {
            const item = stored.get(pk.slice(prefix.length));
            return item
              ? [{ pk: { S: pk }, [item.attribute]: { S: item.text }, bs: { N: '150' } }]
              : [];
          }),
        },
        ...(left.length > 0
          ? { UnprocessedKeys: { online: { Keys: left.map((pk: string) => ({ pk: { S: pk } })) } } }
          : {}),
      };
    });
    const found = await readStoredBases(
      { client: new DynamoDBClient({ region: 'eu-west-1' }), table: 'online', prefix },
      baseItemsOf(rows(1), { amount: 'float' }),
      { fromMicros: start - 30n * 1440n * minute, untilMicros: start + minute },
    );
    expect([...found.keys()].sort()).toEqual([...stored.keys()].sort());
    expect([...found.values()].every((s) => s.seq === 150n && s.text !== undefined)).toBe(true);
    for (const call of dynamodb.commandCalls(BatchGetItemCommand)) {
      expect(call.args[0].input.RequestItems?.online?.ConsistentRead).toBe(true);
      expect(call.args[0].input.RequestItems?.online?.Keys?.length).toBeLessThanOrEqual(100);
    }
  });

  it('does not read the children of items ending before the span', async () => {
    const stored = new Map(baseItemsOf(rows(3), { amount: 'float' }).map((i) => [i.suffix, i]));
    dynamodb.on(BatchGetItemCommand).callsFake(async (input: BatchGetItemCommandInput) => ({
      Responses: {
        online: (input.RequestItems?.online?.Keys ?? []).flatMap((k) => {
          const item = stored.get((k.pk?.S ?? '').slice(prefix.length));
          return item ? [{ pk: k.pk, [item.attribute]: { S: item.text }, bs: { N: '3' } }] : [];
        }),
      },
    }));
    const found = await readStoredBases(
      { client: new DynamoDBClient({ region: 'eu-west-1' }), table: 'online', prefix },
      [],
      // From the end of the stored rows' day: only their 32-day block is in the span.
      { fromMicros: start + 1440n * minute, untilMicros: start + 2n * 1440n * minute },
    );
    expect([...found.keys()]).toEqual([...stored.keys()].filter((k) => k.includes('1440m')));
  });
});
