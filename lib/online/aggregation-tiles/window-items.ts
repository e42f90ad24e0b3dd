import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { baseRowsOfItem, baseTilesAttribute, baseTilesOfItem } from './base-tiles.ts';
import type { TileReader } from './combine-window.ts';
import { DamagedTileItemError } from './damaged-tile-item.ts';
import { type IngestOrder, ingestOrderOf } from './ingest-order.ts';
import { blockItemKey, minuteItemKey, minuteRowsAttribute, tileAttribute } from './tile-items.ts';
import { minuteMicros, tileStart } from './tile-sizes.ts';
import {
  emptyTileState,
  mergeAllTileStates,
  type SumKind,
  stateOfEvent,
  type TileEvent,
  type TileState,
} from './tile-state.ts';
import { decodeTileJson, decodeTileStates } from './tile-state-codec.ts';
import { coverWindow } from './window-cover.ts';
import type { TileRow } from './write-row-tiles.ts';

type Item = Record<string, AttributeValue>;

/**
 * The online keys a lookup at `atMicros` reads for one entity and view: the block items of the
 * whole tiles and the minute items of the raw edges of every window, each once (ADR 0020).
 */
export function windowItemKeys(
  prefix: string,
  atMicros: bigint,
  windowSeconds: readonly number[],
): string[] {
  return planWindowItems(atMicros, windowSeconds).suffixes.map((suffix) => prefix + suffix);
}

/** One window's cover at one instant as item key suffixes (the entity's prefix goes before). */
export interface WindowParts {
  /** Whole tiles, by block item (its suffix), in cover order: the attributes holding them. */
  readonly blocks: readonly { readonly suffix: string; readonly attributes: readonly string[] }[];
  /**
   * The window and the whole minutes its tiles cover: the tiles are a function of these alone
   * (the cover cuts `[ceil(from), floor(until))` in minutes the same whatever the sub-minute
   * edges), so their merged state may be kept under it.
   */
  readonly tilesKey: string;
  /** Raw edge ranges `[from, until)`, each in the minute item of `suffix`. */
  readonly raw: readonly {
    readonly suffix: string;
    readonly from: bigint;
    readonly until: bigint;
  }[];
}

/** The items of a lookup's windows at one instant, the same for every entity: worked out once. */
export interface WindowItemsPlan {
  /** Every item key suffix the windows read, each once. */
  readonly suffixes: readonly string[];
  readonly windows: ReadonlyMap<number, WindowParts>;
}

export function planWindowItems(
  atMicros: bigint,
  windowSeconds: readonly number[],
): WindowItemsPlan {
  const suffixes = new Set<string>();
  const windows = new Map<number, WindowParts>();
  for (const seconds of windowSeconds) {
    if (windows.has(seconds)) continue;
    const cover = coverWindow(atMicros, seconds);
    const blocks: { suffix: string; attributes: string[] }[] = [];
    for (const tile of cover.tiles) {
      const suffix = blockItemKey('', tile.size, tile.start);
      const last = blocks[blocks.length - 1];
      if (last?.suffix === suffix) last.attributes.push(tileAttribute(tile.start));
      else blocks.push({ suffix, attributes: [tileAttribute(tile.start)] });
      suffixes.add(suffix);
    }
    const raw = cover.raw.map((range) => ({
      suffix: minuteItemKey('', tileStart(range.from, minuteMicros)),
      from: range.from,
      until: range.until,
    }));
    for (const part of raw) suffixes.add(part.suffix);
    const from = atMicros - BigInt(seconds) * 1_000_000n + 1n;
    const firstMinute = tileStart(from + minuteMicros - 1n, minuteMicros);
    const tilesKey = `${seconds}|${firstMinute}|${tileStart(atMicros + 1n, minuteMicros)}`;
    windows.set(seconds, { blocks, tilesKey, raw });
  }
  return { suffixes: [...suffixes], windows };
}

/**
 * What has been decoded of items: per item, its tiles' states by attribute and its minute rows,
 * each decoded once however many windows, columns and lookups read the same item object.
 */
export type DecodedItems = WeakMap<
  Item,
  Map<string, Record<string, TileState> | readonly EdgeRow[] | BaseTiles>
>;

type BaseTiles = ReturnType<typeof baseTilesOfItem>;
/** A raw row of a minute item: one a push applied, or one of its base. */
type EdgeRow = Omit<TileRow, 'id'> & IngestOrder;

/**
 * The merged state of one window of one column of the entity of `prefix` from its items (as
 * read, by key; a missing item holds no rows): what windowState gives with tileReaderOfItems,
 * merged in the same order. A damaged item is an error naming its key.
 */
export function windowStateOfItems(
  parts: WindowParts,
  items: ReadonlyMap<string, Item>,
  prefix: string,
  column: string,
  sumKind: SumKind,
  decoded: DecodedItems,
  windowTiles?: Map<string, TileState>,
): TileState {
  const memo = `${column}\u0000${parts.tilesKey}`;
  let tiles = windowTiles?.get(memo);
  if (tiles === undefined) {
    tiles = wholeTilesState(parts, items, prefix, column, sumKind, decoded);
    windowTiles?.set(memo, tiles);
  }
  const states: TileState[] = [tiles];
  for (const { suffix, from, until } of parts.raw) {
    const item = items.get(prefix + suffix);
    if (item === undefined) continue;
    const memo = decodedOf(decoded, item);
    let rows = memo.get(minuteRowsAttribute) as readonly EdgeRow[] | undefined;
    if (rows === undefined) {
      rows = minuteRows(item, prefix + suffix);
      memo.set(minuteRowsAttribute, rows);
    }
    for (const row of rows)
      if (row.eventMicros >= from && row.eventMicros < until)
        states.push(
          stateOfEvent(sumKind, {
            eventMicros: row.eventMicros,
            createdMicros: row.createdMicros,
            ...ingestOrderOf(row),
            value: row.values[column] ?? null,
          }),
        );
  }
  return mergeAllTileStates(sumKind, states);
}

/** The merged state of a window's whole tiles of one column, block by block in cover order. */
function wholeTilesState(
  parts: WindowParts,
  items: ReadonlyMap<string, Item>,
  prefix: string,
  column: string,
  sumKind: SumKind,
  decoded: DecodedItems,
): TileState {
  const states: TileState[] = [];
  for (const { suffix, attributes } of parts.blocks) {
    const item = items.get(prefix + suffix);
    if (item === undefined) continue;
    const memo = decodedOf(decoded, item);
    let base = memo.get(baseTilesAttribute) as BaseTiles | undefined;
    if (base === undefined) {
      base = baseTilesOfItem(item, `block item ${prefix + suffix}`);
      memo.set(baseTilesAttribute, base);
    }
    for (const attribute of attributes) {
      // The tile as materialization computed it from offline rows, then as pushes applied it.
      const baseState = base.get(attribute.slice(1))?.[column];
      if (baseState) states.push(baseState);
      let tile = memo.get(attribute) as Record<string, TileState> | undefined;
      if (tile === undefined) {
        const text = item[attribute]?.M?.s?.S;
        if (text === undefined) continue;
        tile = decodeTileStates(text, `block item ${prefix + suffix}`);
        memo.set(attribute, tile);
      }
      const state = tile[column];
      if (state) states.push(state);
    }
  }
  return mergeAllTileStates(sumKind, states);
}

/**
 * Whether the minute item `minuteKey` may hold rows, judged by the hour block holding its minute
 * tile, as read under the same write token: `undefined` when the block was not read with it
 * (`held`: key → item, null when read and not there). Every tile write puts a minute's tile into
 * that block (a push's carry-up, a run's base tiles beside its base rows) before it renews the
 * token, so a block without the minute's tile, pushed or base, under a token means the minute
 * item held no rows when that token was written.
 */
export function minuteMayHoldRows(
  minuteKey: string,
  held: ReadonlyMap<string, Item | null>,
  decoded: DecodedItems,
): boolean | undefined {
  const at = minuteKey.lastIndexOf(minuteItemKey('', 0n).slice(0, -1));
  if (at < 0) return undefined;
  const prefix = minuteKey.slice(0, at);
  const start = BigInt(minuteKey.slice(at + minuteItemKey('', 0n).length - 1));
  if (minuteItemKey(prefix, start) !== minuteKey) return undefined;
  const block = held.get(blockItemKey(prefix, minuteMicros, start));
  if (block === undefined) return undefined;
  if (block === null) return false;
  if (block[tileAttribute(start)] !== undefined) return true;
  const memo = decodedOf(decoded, block);
  let base = memo.get(baseTilesAttribute) as BaseTiles | undefined;
  if (base === undefined) {
    base = baseTilesOfItem(block, `block item ${blockItemKey(prefix, minuteMicros, start)}`);
    memo.set(baseTilesAttribute, base);
  }
  return base.has(String(start));
}

function decodedOf(decoded: DecodedItems, item: Item) {
  let memo = decoded.get(item);
  if (memo === undefined) {
    memo = new Map();
    decoded.set(item, memo);
  }
  return memo;
}

/** A minute item's raw rows: those pushes applied, then its base rows. */
function minuteRows(item: Item, key: string): readonly EdgeRow[] {
  const text = item[minuteRowsAttribute]?.S;
  const pushed = text === undefined ? [] : decodeTileJson(text, `the rows of minute item ${key}`);
  if (!Array.isArray(pushed))
    throw new DamagedTileItemError(`the rows of minute item ${key} are damaged: not a list`);
  const base = baseRowsOfItem(item, `minute item ${key}`);
  return base.length === 0 ? (pushed as TileRow[]) : [...(pushed as TileRow[]), ...base];
}

/**
 * A TileReader of one column over the items windowItemKeys named, as read (`items` by key; a
 * missing item holds no rows). A damaged item is an error naming its key.
 */
export function tileReaderOfItems(
  items: ReadonlyMap<string, Item>,
  prefix: string,
  column: string,
  sumKind: SumKind,
): TileReader {
  return {
    tile: ({ size, start }) => {
      const key = blockItemKey(prefix, size, start);
      const item = items.get(key);
      if (item === undefined) return emptyTileState(sumKind);
      const text = item[tileAttribute(start)]?.M?.s?.S;
      const pushed =
        text === undefined ? undefined : decodeTileStates(text, `block item ${key}`)[column];
      const base = baseTilesOfItem(item, `block item ${key}`).get(String(start))?.[column];
      return mergeAllTileStates(
        sumKind,
        [base, pushed].filter((s) => s !== undefined),
      );
    },
    events: (from, until) => {
      const key = minuteItemKey(prefix, tileStart(from, minuteMicros));
      const item = items.get(key);
      if (item === undefined) return [];
      return minuteRows(item, key)
        .filter((row) => row.eventMicros >= from && row.eventMicros < until)
        .map(
          (row): TileEvent => ({
            eventMicros: row.eventMicros,
            createdMicros: row.createdMicros,
            ...ingestOrderOf(row),
            value: row.values[column] ?? null,
          }),
        );
    },
  };
}
