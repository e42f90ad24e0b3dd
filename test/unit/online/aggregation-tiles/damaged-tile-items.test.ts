import {
  BatchGetItemCommand,
  type BatchGetItemCommandInput,
  DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type BaseRow,
  baseItemsOf,
  baseRowsOfItem,
  baseTilesOfItem,
} from '../../../../lib/online/aggregation-tiles/base-tiles.ts';
import { DamagedTileItemError } from '../../../../lib/online/aggregation-tiles/damaged-tile-item.ts';
import { readStoredBases } from '../../../../lib/online/aggregation-tiles/stored-bases.ts';
import { minuteItemKey } from '../../../../lib/online/aggregation-tiles/tile-items.ts';
import {
  decodeTileJson,
  decodeTileStates,
} from '../../../../lib/online/aggregation-tiles/tile-state-codec.ts';
import { tileReaderOfItems } from '../../../../lib/online/aggregation-tiles/window-items.ts';
import { recordRowInMinuteItem } from '../../../../lib/online/aggregation-tiles/write-row-tiles.ts';

const dynamodb = mockClient(DynamoDBClient);
afterEach(() => dynamodb.reset());

const minute = 60_000_000n;
const t0 = 1_772_323_200_000_000n; // 2026-03-01T00:00:00Z
const prefix = 'spend#v1#K1';
const baseRow: BaseRow = { eventMicros: t0, createdMicros: null, seq: 1n, values: { amount: 1 } };
const [minuteBase, blockBase] = ['br', 'bt'].map((attribute) => {
  const item = baseItemsOf([baseRow], { amount: 'float' }).find((i) => i.attribute === attribute);
  if (!item) throw new Error(`no ${attribute} item`);
  return item;
}) as [ReturnType<typeof baseItemsOf>[number], ReturnType<typeof baseItemsOf>[number]];

/** What `read` throws: a DamagedTileItemError (by class and by the name Step Functions sees). */
function damageOf(read: () => unknown): DamagedTileItemError {
  try {
    read();
  } catch (error) {
    expect(error).toBeInstanceOf(DamagedTileItemError);
    expect((error as Error).name).toBe('DamagedTileItemError');
    return error as DamagedTileItemError;
  }
  throw new Error('nothing was thrown');
}

async function damageOfAsync(read: () => Promise<unknown>): Promise<DamagedTileItemError> {
  const error = await read().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DamagedTileItemError);
  expect((error as Error).name).toBe('DamagedTileItemError');
  return error as DamagedTileItemError;
}

describe('a damaged tile item is a DamagedTileItemError naming the item and what is wrong', () => {
  it('for tile states that are not JSON, not an object of columns, or hold no tile state', () => {
    for (const [text, problem] of [
      ['{"amount":', /the tile states of block item X are damaged: /],
      ['[1]', /the tile states of block item X are damaged: not an object of columns/],
      ['{"amount":{"sum":{"$big":"1"}}}', /the tile state of column "amount" in block item X/],
      ['{"amount":null}', /the tile state of column "amount" in block item X/],
    ] as const)
      expect(damageOf(() => decodeTileStates(text, 'block item X')).message).toMatch(problem);
  });

  it('for a tagged number that is not one, keeping what the parser said as the cause', () => {
    const error = damageOf(() => decodeTileJson('[{"$big":"12x"}]', 'the rows of minute item X'));
    expect(error.message).toMatch(/^the rows of minute item X are damaged: /);
    expect(error.cause).toBeInstanceOf(SyntaxError);
    expect(error.hint).toMatch(/point-in-time recovery/);
  });

  it('for a block base that is not an object of tiles, a start that is not one, a tile that is not columns, a state that is not one', () => {
    const good = JSON.parse(blockBase.text) as Record<string, Record<string, unknown>>;
    const [start, columns] = Object.entries(good)[0] as [string, Record<string, unknown>];
    for (const [text, problem] of [
      ['not json', /the base tiles of block item B are damaged: /],
      ['[]', /the base tiles of block item B are damaged: not an object of tiles/],
      [
        JSON.stringify({ x1: columns }),
        /the base tiles of block item B are damaged: "x1" is not a tile start/,
      ],
      [
        JSON.stringify({ [start]: null }),
        new RegExp(`the base tile ${start} of block item B is damaged: not an object of columns`),
      ],
      [
        JSON.stringify({ [start]: { amount: { ...(columns.amount as object), sumKind: 'x' } } }),
        new RegExp(`the base tile ${start} of column "amount" in block item B is damaged`),
      ],
    ] as const)
      expect(damageOf(() => baseTilesOfItem({ bt: { S: text } }, 'block item B')).message).toMatch(
        problem,
      );
  });

  it('for minute base rows that are not a list or not rows', () => {
    expect(damageOf(() => baseRowsOfItem({ br: { S: '{}' } }, 'minute item M')).message).toBe(
      'the base rows of minute item M are damaged: not a list',
    );
    expect(damageOf(() => baseRowsOfItem({ br: { S: '[7]' } }, 'minute item M')).message).toBe(
      'the base row 0 of minute item M is damaged',
    );
  });

  it('for pushed minute rows that are not a list, read by a lookup', () => {
    const key = minuteItemKey(prefix, t0);
    const reader = tileReaderOfItems(
      new Map([[key, { pk: { S: key }, r: { S: '{}' } }]]),
      prefix,
      'amount',
      'float',
    );
    expect(damageOf(() => reader.events(t0, t0 + minute)).message).toBe(
      `the rows of minute item ${key} are damaged: not a list`,
    );
  });

  it('for pushed minute rows that are not a list, read by a push', async () => {
    const key = minuteItemKey(prefix, t0);
    dynamodb
      .on(GetItemCommand)
      .resolves({ Item: { pk: { S: key }, ver: { N: '1' }, r: { S: '{}' } } });
    const error = await damageOfAsync(() =>
      recordRowInMinuteItem(
        {
          client: new DynamoDBClient({ region: 'eu-west-1' }),
          table: 'online',
          prefix,
          sumKinds: { amount: 'float' },
          widestWindowSeconds: 86_400,
        },
        { id: 'p:0', eventMicros: t0, createdMicros: null, seq: null, values: { amount: 1 } },
      ),
    );
    expect(error.message).toBe(`the rows of minute item ${key} are damaged: not a list`);
    expect(dynamodb.commandCalls(UpdateItemCommand)).toHaveLength(0);
  });

  it('for a stored base a materialization run reads: a damaged block base, a sequence that is not a whole number', async () => {
    const target = { client: new DynamoDBClient({ region: 'eu-west-1' }), table: 'online', prefix };
    const span = { fromMicros: t0 - 30n * 1440n * minute, untilMicros: t0 + minute };
    const stored = (damaged: { suffix: string; attributes: Record<string, unknown> }) =>
      dynamodb.on(BatchGetItemCommand).callsFake(async (input: BatchGetItemCommandInput) => ({
        Responses: {
          online: (input.RequestItems?.online?.Keys ?? []).flatMap((k) =>
            k.pk?.S === prefix + damaged.suffix ? [{ pk: k.pk, ...damaged.attributes }] : [],
          ),
        },
      }));
    // The 32-day block over the span is read first, whatever the new base holds.
    const top = baseItemsOf([baseRow], { amount: 'float' }).find((i) =>
      i.suffix.includes('#1440m#'),
    );
    if (!top) throw new Error('no 32-day block');
    stored({ suffix: top.suffix, attributes: { bt: { S: '[]' }, bs: { N: '3' } } });
    expect((await damageOfAsync(() => readStoredBases(target, [], span))).message).toBe(
      `the base tiles of block item ${prefix}${top.suffix} are damaged: not an object of tiles`,
    );
    dynamodb.reset();
    stored({
      suffix: minuteBase.suffix,
      attributes: { br: { S: minuteBase.text }, bs: { N: '1.5' } },
    });
    expect((await damageOfAsync(() => readStoredBases(target, [minuteBase], span))).message).toBe(
      `the base sequence of tile item ${prefix}${minuteBase.suffix} is damaged: "1.5" is not a whole number`,
    );
  });
});
