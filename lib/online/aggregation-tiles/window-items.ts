import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { TileReader } from './combine-window.ts';
import { blockItemKey, minuteItemKey, minuteRowsAttribute, tileAttribute } from './tile-items.ts';
import { minuteMicros, tileStart } from './tile-sizes.ts';
import { emptyTileState, type SumKind, type TileEvent } from './tile-state.ts';
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
  const keys = new Set<string>();
  for (const seconds of windowSeconds) {
    const cover = coverWindow(atMicros, seconds);
    for (const tile of cover.tiles) keys.add(blockItemKey(prefix, tile.size, tile.start));
    for (const range of cover.raw)
      keys.add(minuteItemKey(prefix, tileStart(range.from, minuteMicros)));
  }
  return [...keys];
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
      const text = items.get(key)?.[tileAttribute(start)]?.M?.s?.S;
      if (text === undefined) return emptyTileState(sumKind);
      return decodeTileStates(text, `block item ${key}`)[column] ?? emptyTileState(sumKind);
    },
    events: (from, until) => {
      const key = minuteItemKey(prefix, tileStart(from, minuteMicros));
      const text = items.get(key)?.[minuteRowsAttribute]?.S;
      if (text === undefined) return [];
      const rows = decodeTileJson(text, `the rows of minute item ${key}`);
      if (!Array.isArray(rows)) throw new Error(`the rows of minute item ${key} are damaged`);
      return (rows as TileRow[])
        .filter((row) => row.eventMicros >= from && row.eventMicros < until)
        .map(
          (row): TileEvent => ({
            eventMicros: row.eventMicros,
            createdMicros: row.createdMicros,
            seq: row.seq,
            value: row.values[column] ?? null,
          }),
        );
    },
  };
}
