import { describe, expect, it } from 'vitest';
import { planBaseWrites } from '../../../../lib/online/aggregation-tiles/base-plan.ts';
import { type BaseRow, baseItemsOf } from '../../../../lib/online/aggregation-tiles/base-tiles.ts';
import type { StoredBase } from '../../../../lib/online/aggregation-tiles/stored-bases.ts';

const minute = 60_000_000n;
const start = 1_772_323_200_000_000n; // 2026-03-01T00:00:00Z
const row = (seq: bigint, eventMicros: bigint, amount: number): BaseRow => ({
  eventMicros,
  createdMicros: null,
  seq,
  values: { amount },
});
const kinds = { amount: 'float' } as const;
const storedAt = (rows: BaseRow[], seq: bigint) =>
  new Map<string, StoredBase>(
    baseItemsOf(rows, kinds).map((item) => [
      item.suffix,
      { text: item.text, seq, endMicros: item.endMicros },
    ]),
  );

describe('planning the writes of a base against the stored one', () => {
  const old = [row(1n, start + minute, 1), row(2n, start + 2n * 24n * 60n * minute, 2)];

  it('writes only the items whose text differs, parents before children', () => {
    const added = row(3n, start + 5n * minute, 3);
    const plan = planBaseWrites(baseItemsOf([...old, added], kinds), storedAt(old, 2n), 3n);
    const written = plan.writes.map((level) => level.map((item) => item.suffix));
    // 32-day block, day block, hour block (all changed), then the new minute item.
    expect(written.map((level) => level.length)).toEqual([1, 1, 1, 1]);
    expect(written[3]?.[0]).toBe(`|raw#${start + 5n * minute}`);
    expect(plan.unchanged).toBe(4);
    expect(plan.clears.flat()).toEqual([]);
  });

  it('clears stored bases the new one no longer covers, children before parents', () => {
    const plan = planBaseWrites(baseItemsOf(old.slice(0, 1), kinds), storedAt(old, 2n), 3n);
    // The second day's minute item, hour block and day block: bottom-up.
    expect(plan.clears.map((level) => level.map((c) => c.attribute))).toEqual([
      ['br'],
      ['bt'],
      ['bt'],
      [],
    ]);
    // The shared 32-day block changes (one day fewer).
    expect(plan.writes.flat().map((item) => item.suffix)).toEqual([
      `|tiles#1440m#${start - (start % (32n * 1440n * minute))}`,
    ]);
  });

  it('leaves items holding a base of this sequence or a newer one, whatever they hold', () => {
    const stored = storedAt(old, 5n);
    const plan = planBaseWrites(baseItemsOf([row(3n, start + 9n * minute, 3)], kinds), stored, 5n);
    expect(plan.clears.flat()).toEqual([]);
    expect(plan.writes.flat().map((item) => item.suffix)).toEqual([`|raw#${start + 9n * minute}`]);
    expect(plan.alreadyNewer).toBe(stored.size);
  });

  it('leaves an item without a base alone when the new base does not cover it', () => {
    const stored = new Map<string, StoredBase>([['|raw#0', { endMicros: minute }]]);
    const plan = planBaseWrites([], stored, 5n);
    expect(plan.clears.flat()).toEqual([]);
    expect(plan.alreadyNewer + plan.unchanged).toBe(0);
  });
});
