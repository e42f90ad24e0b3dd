import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { DamagedTileItemError } from './damaged-tile-item.ts';
import { blockItemKey, blockMicros, coarserSize, minuteItemKey } from './tile-items.ts';
import { minuteMicros, tileStart } from './tile-sizes.ts';
import {
  emptyTileState,
  mergeTileStates,
  type SumKind,
  stateOfEvent,
  type TileState,
} from './tile-state.ts';
import { decodeTileJson, encodeTileJson, isRecord, isTileState } from './tile-state-codec.ts';
import type { TileValue } from './tile-values.ts';

/**
 * The **base** of a tile-fed view's tiles (ADR 0020, "Scheduled materialization"): what
 * materialization computed from the offline rows that did not arrive through a push, kept in
 * the same items as the pushed state under their own attributes, so a lookup reads no more
 * items and merges both. A block item's base is one attribute holding every tile of the block
 * (`bt`: tile start → column states), a minute item's base its raw rows (`br`); both carry the
 * offline sequence they were computed at (`bs`), and a base computed at an older sequence never
 * replaces a newer one.
 */
export const baseTilesAttribute = 'bt';
export const baseRowsAttribute = 'br';
export const baseSeqAttribute = 'bs';

/**
 * An offline row of one entity as the base keeps it: its `fstore_seq` orders `last` against
 * other base rows, its `pushLogsUpTo` (when a push log with a key was ingested before it)
 * against pushed rows (IngestOrder).
 */
export interface BaseRow {
  readonly eventMicros: bigint;
  readonly createdMicros: bigint | null;
  readonly seq: bigint;
  readonly pushLogsUpTo?: string;
  readonly values: Readonly<Record<string, TileValue | null>>;
}

/** One item's base: the attribute and its text, and the end of the time the item holds. */
export interface BaseItem {
  /** Item key suffix (the entity's prefix goes before). */
  readonly suffix: string;
  readonly attribute: typeof baseTilesAttribute | typeof baseRowsAttribute;
  readonly text: string;
  readonly endMicros: bigint;
}

type States = Record<string, TileState>;

/**
 * The base items of one entity from its offline rows: a minute item per minute holding rows
 * (the raw rows of window edges) and a block item per block holding tiles of each size (minute
 * tiles by hour, hour tiles by day, day tiles by 32 days). Rows are taken in `fstore_seq`
 * order, so the same rows give the same text whatever order they came in.
 */
export function baseItemsOf(
  rows: readonly BaseRow[],
  sumKinds: Readonly<Record<string, SumKind>>,
): BaseItem[] {
  const sorted = [...rows].sort((a, b) => (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0));
  const minutes = new Map<bigint, BaseRow[]>();
  // size → block start → tile start → states
  const blocks = new Map<bigint, Map<bigint, Map<bigint, States>>>();
  for (const row of sorted) {
    const minute = tileStart(row.eventMicros, minuteMicros);
    minutes.set(minute, [...(minutes.get(minute) ?? []), row]);
    for (
      let size: bigint | undefined = minuteMicros;
      size !== undefined;
      size = coarserSize(size)
    ) {
      const start = tileStart(row.eventMicros, size);
      const blockStart = tileStart(start, blockMicros(size));
      const bySize = blocks.get(size) ?? new Map<bigint, Map<bigint, States>>();
      blocks.set(size, bySize);
      const tiles = bySize.get(blockStart) ?? new Map<bigint, States>();
      bySize.set(blockStart, tiles);
      tiles.set(start, addRow(tiles.get(start) ?? {}, row, sumKinds));
    }
  }
  const items: BaseItem[] = [];
  for (const [minute, minuteRows] of minutes)
    items.push({
      suffix: minuteItemKey('', minute),
      attribute: baseRowsAttribute,
      text: encodeTileJson(minuteRows),
      endMicros: minute + minuteMicros,
    });
  for (const [size, bySize] of blocks)
    for (const [blockStart, tiles] of bySize)
      items.push({
        suffix: blockItemKey('', size, blockStart),
        attribute: baseTilesAttribute,
        text: encodeTileJson(Object.fromEntries([...tiles].map(([s, st]) => [String(s), st]))),
        endMicros: blockStart + blockMicros(size),
      });
  return items;
}

function addRow(states: States, row: BaseRow, sumKinds: Readonly<Record<string, SumKind>>): States {
  const next: States = { ...states };
  for (const [column, kind] of Object.entries(sumKinds))
    next[column] = mergeTileStates(
      next[column] ?? emptyTileState(kind),
      stateOfEvent(kind, { ...row, value: row.values[column] ?? null }),
    );
  return next;
}

/**
 * A block item's base tiles by tile start (as text); none when the item has no base. A damaged
 * base is a DamagedTileItemError naming `where`.
 */
export function baseTilesOfItem(
  item: Record<string, AttributeValue>,
  where: string,
): ReadonlyMap<string, Record<string, TileState>> {
  const text = item[baseTilesAttribute]?.S;
  if (text === undefined) return new Map();
  const parsed = decodeTileJson(text, `the base tiles of ${where}`);
  if (!isRecord(parsed))
    throw new DamagedTileItemError(
      `the base tiles of ${where} are damaged: not an object of tiles`,
    );
  const tiles = new Map<string, Record<string, TileState>>();
  for (const [start, columns] of Object.entries(parsed)) {
    // A writer walking the stored tree takes each start as a number (base-item-tree.ts).
    if (!/^-?\d+$/.test(start))
      throw new DamagedTileItemError(
        `the base tiles of ${where} are damaged: ${JSON.stringify(start)} is not a tile start`,
      );
    if (!isRecord(columns))
      throw new DamagedTileItemError(
        `the base tile ${start} of ${where} is damaged: not an object of columns`,
      );
    for (const [column, state] of Object.entries(columns))
      if (!isTileState(state))
        throw new DamagedTileItemError(
          `the base tile ${start} of column "${column}" in ${where} is damaged`,
        );
    tiles.set(start, columns as Record<string, TileState>);
  }
  return tiles;
}

/** A minute item's base rows; none when the item has no base. A damaged base is a DamagedTileItemError. */
export function baseRowsOfItem(item: Record<string, AttributeValue>, where: string): BaseRow[] {
  const text = item[baseRowsAttribute]?.S;
  if (text === undefined) return [];
  const rows = decodeTileJson(text, `the base rows of ${where}`);
  if (!Array.isArray(rows))
    throw new DamagedTileItemError(`the base rows of ${where} are damaged: not a list`);
  rows.forEach((row, index) => {
    if (!isBaseRow(row))
      throw new DamagedTileItemError(`the base row ${index} of ${where} is damaged`);
  });
  return rows as BaseRow[];
}

function isBaseRow(row: unknown): row is BaseRow {
  if (!isRecord(row)) return false;
  const { eventMicros, createdMicros, seq, pushLogsUpTo, values } = row;
  return (
    typeof eventMicros === 'bigint' &&
    (createdMicros === null || typeof createdMicros === 'bigint') &&
    typeof seq === 'bigint' &&
    (pushLogsUpTo === undefined || typeof pushLogsUpTo === 'string') &&
    isRecord(values)
  );
}
