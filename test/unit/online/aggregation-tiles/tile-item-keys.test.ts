import { describe, expect, it } from 'vitest';
import {
  blockItemKey,
  minuteItemKey,
} from '../../../../lib/online/aggregation-tiles/tile-items.ts';
import { hourMicros, minuteMicros } from '../../../../lib/online/aggregation-tiles/tile-sizes.ts';
import { encodeEntityKey, partitionKey } from '../../../../lib/online/entity-key.ts';

const joinKeys = [{ name: 'customer_id', type: 'string' as const }];
const prefix = 'spend#v1';
const itemOf = (value: string) =>
  partitionKey(prefix, encodeEntityKey(joinKeys, { customer_id: value }));

describe('tile item keys', () => {
  it('never equal the item key of an entity whose value ends like a tile suffix', () => {
    const minute = 1_795_935_660_000_000n;
    const e1 = itemOf('E1');
    const tileKeys = [
      minuteItemKey(e1, minute),
      blockItemKey(e1, minuteMicros, minute),
      blockItemKey(e1, hourMicros, minute),
    ];
    for (const tileKey of tileKeys) {
      const suffix = tileKey.slice(e1.length);
      for (const hostile of [`E1${suffix}`, `E1${suffix.replace('|', '#')}`])
        expect(itemOf(hostile)).not.toBe(tileKey);
    }
  });

  it('keep the entity item key as their prefix', () => {
    const e1 = itemOf('E1');
    expect(minuteItemKey(e1, 0n).startsWith(`${e1}|raw#`)).toBe(true);
    expect(blockItemKey(e1, minuteMicros, 0n).startsWith(`${e1}|tiles#1m#`)).toBe(true);
  });
});
