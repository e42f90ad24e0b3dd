import { type BaseLevel, baseLevels, levelOfSuffix } from './base-item-tree.ts';
import { type BaseItem, baseRowsAttribute, baseTilesAttribute } from './base-tiles.ts';
import type { StoredBase } from './stored-bases.ts';

/** A stored base the new one no longer covers: its attribute is removed. */
export interface BaseClear {
  readonly suffix: string;
  readonly attribute: typeof baseTilesAttribute | typeof baseRowsAttribute;
}

export interface BasePlan {
  /** Items whose base differs from the stored one, by level from the top (write in this order). */
  readonly writes: readonly (readonly BaseItem[])[];
  /** Stale bases, by level from the bottom (clear in this order, before any write). */
  readonly clears: readonly (readonly BaseClear[])[];
  /** Items already holding this base text at an older sequence: left as they are. */
  readonly unchanged: number;
  /** Items holding a base of this sequence or a newer one: left as they are. */
  readonly alreadyNewer: number;
}

/**
 * What a run at `seq` writes, given the new base items and the stored ones (stored-bases.ts).
 * Clears go bottom-up and writes top-down so that, whenever a run stops, every item holding a
 * base is still listed by its parent's stored base or by the next run's own base: a child is
 * cleared before its parent stops listing it, a parent lists a child before the child is
 * written. Otherwise a stale child could be left where no later walk finds it.
 */
export function planBaseWrites(
  items: readonly BaseItem[],
  stored: ReadonlyMap<string, StoredBase>,
  seq: bigint,
): BasePlan {
  const writes: BaseItem[][] = baseLevels.map(() => []);
  const clears: BaseClear[][] = baseLevels.map(() => []);
  let unchanged = 0;
  let alreadyNewer = 0;
  const covered = new Set<string>();
  for (const item of items) {
    covered.add(item.suffix);
    const before = stored.get(item.suffix);
    if (before?.seq !== undefined && before.seq >= seq) alreadyNewer++;
    else if (before?.text === item.text) unchanged++;
    else writes[levelOfSuffix(item.suffix)]?.push(item);
  }
  for (const [suffix, before] of stored) {
    if (covered.has(suffix) || before.text === undefined) continue;
    if (before.seq !== undefined && before.seq >= seq) {
      alreadyNewer++;
      continue;
    }
    const level: BaseLevel = levelOfSuffix(suffix);
    clears[3 - level]?.push({
      suffix,
      attribute: level === 3 ? baseRowsAttribute : baseTilesAttribute,
    });
  }
  return { writes, clears, unchanged, alreadyNewer };
}
