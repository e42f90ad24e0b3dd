import { describe, expect, it } from 'vitest';
import {
  type BaseRow,
  baseItemsOf,
  baseRowsOfItem,
  baseTilesOfItem,
} from '../../../../lib/online/aggregation-tiles/base-tiles.ts';

const minute = 60_000_000n;
const t0 = 1_772_323_200_000_000n;
const row = (seq: bigint, eventMicros: bigint, amount: number | null): BaseRow => ({
  eventMicros,
  createdMicros: null,
  seq,
  values: { amount },
});

describe('the base items of an entity', () => {
  it('are the same text whatever order the rows come in (rows taken by offline sequence)', () => {
    // Two rows at one instant: `last` and the minute's raw rows depend on the order taken.
    const rows = [
      row(1n, t0, 1.5),
      row(2n, t0, 2.5),
      row(3n, t0 + minute, null),
      row(4n, t0 + 2n, 4),
    ];
    const inOrder = baseItemsOf(rows, { amount: 'float' });
    for (const shuffled of [[...rows].reverse(), [rows[2], rows[0], rows[3], rows[1]] as BaseRow[]])
      expect(baseItemsOf(shuffled, { amount: 'float' })).toEqual(inOrder);
  });
});

describe('reading a base back', () => {
  it('names the item and what is damaged', () => {
    expect(() => baseTilesOfItem({ bt: { S: '[1]' } }, 'item K1|tiles#h#0')).toThrow(
      'the base tiles of item K1|tiles#h#0 are damaged: not an object of tiles',
    );
    expect(() => baseTilesOfItem({ bt: { S: '{"5":{"amount":{"sum":1}}}' } }, 'item K1')).toThrow(
      'the base tile 5 of column "amount" in item K1 is damaged',
    );
    expect(() => baseRowsOfItem({ br: { S: '{}' } }, 'item K1|raw#0')).toThrow(
      'the base rows of item K1|raw#0 are damaged: not a list',
    );
  });

  it('refuses a minute base whose rows are not rows, naming the row and the item', () => {
    const [good] = baseItemsOf([row(1n, t0, 1.5)], { amount: 'float' }).filter(
      (item) => item.attribute === 'br',
    );
    if (!good) throw new Error('no minute base');
    expect(baseRowsOfItem({ br: { S: good.text } }, 'item K1|raw#0')).toEqual([row(1n, t0, 1.5)]);
    const rows = JSON.parse(good.text) as unknown[];
    for (const damaged of [
      [...rows, 7],
      [...rows, null],
      [{ ...(rows[0] as object), seq: 3 }],
      [{ ...(rows[0] as object), createdMicros: 'x' }],
      [{ ...(rows[0] as object), values: [] }],
    ])
      expect(() => baseRowsOfItem({ br: { S: JSON.stringify(damaged) } }, 'item K1|raw#0')).toThrow(
        /the base row [01] of item K1\|raw#0 is damaged/,
      );
  });

  it('is empty for an item without a base', () => {
    expect(baseTilesOfItem({}, 'item K1').size).toBe(0);
    expect(baseRowsOfItem({}, 'item K1')).toEqual([]);
  });
});
