import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import type { BaseRow } from '../../../../lib/online/aggregation-tiles/base-tiles.ts';
import { writeBaseTiles } from '../../../../lib/online/aggregation-tiles/write-base-tiles.ts';

const dynamodb = mockClient(DynamoDBClient);
afterEach(() => dynamodb.reset());

const minute = 60_000_000n;
const start = 1_772_323_200_000_000n; // 2026-03-01T00:00:00Z
/** One row in each of `minutes` minutes: as many minute items, and their blocks. */
const rowsOverMinutes = (minutes: number): BaseRow[] =>
  Array.from({ length: minutes }, (_, i) => ({
    eventMicros: start + BigInt(i) * minute,
    createdMicros: null,
    seq: BigInt(i + 1),
    values: { amount: 1 },
  }));

describe('writing the tile base of one entity', () => {
  it('starts no item write after one failed, and renews no write token', async () => {
    let sent = 0;
    dynamodb.on(UpdateItemCommand).callsFake(async () => {
      const call = ++sent;
      await new Promise((resolve) => setTimeout(resolve, 1));
      if (call === 1) throw new Error('the table is unavailable');
      return {};
    });
    const target = {
      client: new DynamoDBClient({ region: 'eu-west-1' }),
      table: 'online',
      prefix: 'spend#v1#K1',
      sumKinds: { amount: 'float' as const },
      widestWindowSeconds: 30 * 86_400,
    };

    await expect(writeBaseTiles(target, rowsOverMinutes(40), 40n)).rejects.toThrow(
      'the table is unavailable',
    );
    await new Promise((resolve) => setTimeout(resolve, 50));

    // The 8 writes started with the failed one may end; none starts after it.
    expect(sent).toBeLessThanOrEqual(8);
    // The write token (the head item) is renewed only after every item was written.
    const heads = dynamodb
      .commandCalls(UpdateItemCommand)
      .filter((call) => call.args[0].input.Key?.pk?.S?.endsWith('|head'));
    expect(heads).toEqual([]);
  });
});
