import { blockItemKey, blockMicros, minuteItemKey } from './tile-items.ts';
import { dayMicros, hourMicros, minuteMicros, tileStart } from './tile-sizes.ts';

/**
 * A base's items form a tree (ADR 0020, "Scheduled materialization"): a 32-day block's base
 * lists the days holding base rows, the day block of each lists its hours, an hour block its
 * minutes, and each of those minutes is a minute item with base rows. The online table is keyed
 * by `pk` alone, so a writer finds the items an entity's stored base covers by walking it from
 * the top. Levels from the top: 0 (32-day blocks of day tiles) to 3 (minute items).
 */
export type BaseLevel = 0 | 1 | 2 | 3;
export const baseLevels: readonly BaseLevel[] = [0, 1, 2, 3];

const sizeOfLevel = [dayMicros, hourMicros, minuteMicros] as const;

/** The level of an item from its key suffix (`|raw#…` or `|tiles#<minutes>m#…`). */
export function levelOfSuffix(suffix: string): BaseLevel {
  if (suffix.startsWith('|raw#')) return 3;
  const size = /^\|tiles#(\d+)m#/.exec(suffix)?.[1];
  if (size === '1440') return 0;
  if (size === '60') return 1;
  if (size === '1') return 2;
  throw new Error(`internal: ${suffix} is not a tile item suffix`);
}

export interface TreeItem {
  readonly suffix: string;
  readonly endMicros: bigint;
}

/** The items below a block item of `level` whose base holds the tiles starting at `starts`. */
export function childrenOf(level: BaseLevel, starts: Iterable<string>): TreeItem[] {
  const size = sizeOfLevel[level as 0 | 1 | 2];
  if (size === undefined) return [];
  return [...starts].map((text) => {
    const start = BigInt(text);
    if (level === 2) return { suffix: minuteItemKey('', start), endMicros: start + minuteMicros };
    const childSize = sizeOfLevel[(level + 1) as 1 | 2];
    return { suffix: blockItemKey('', childSize, start), endMicros: start + size };
  });
}

/** The 32-day blocks (level 0) overlapping `[fromMicros, untilMicros]`. */
export function topBlocksOver(fromMicros: bigint, untilMicros: bigint): TreeItem[] {
  const block = blockMicros(dayMicros);
  const blocks: TreeItem[] = [];
  for (let start = tileStart(fromMicros, block); start <= untilMicros; start += block)
    blocks.push({ suffix: blockItemKey('', dayMicros, start), endMicros: start + block });
  return blocks;
}
