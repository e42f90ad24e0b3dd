import type { AggregationFunction } from '../../definitions/index.ts';
import { finalValue } from './final-value.ts';
import {
  emptyTileState,
  mergeTileStates,
  type SumKind,
  stateOfEvent,
  type TileEvent,
  type TileState,
} from './tile-state.ts';
import type { TileValue } from './tile-values.ts';
import { type CoveredTile, coverWindow } from './window-cover.ts';

/** What a lookup has read for one entity and column: tile states and the raw edge events. */
export interface TileReader {
  /** The state of a whole tile; an empty state when the tile has no rows. */
  tile(tile: CoveredTile): TileState;
  /** The raw events with event times in `[from, until)`. */
  events(from: bigint, until: bigint): readonly TileEvent[];
}

/**
 * A feature's value over `(t - W, t]` from tiles: the window's cover (whole tiles and raw edge
 * events) merged into one state, then its final value. Equal to the offline value at t.
 */
export function windowValue(
  fn: AggregationFunction,
  sumKind: SumKind,
  windowSeconds: number,
  atMicros: bigint,
  reader: TileReader,
): TileValue | null {
  return finalValue(fn, windowState(sumKind, windowSeconds, atMicros, reader), atMicros);
}

/** The merged state of `(t - W, t]` (whole tiles and raw edge events): every function's input. */
export function windowState(
  sumKind: SumKind,
  windowSeconds: number,
  atMicros: bigint,
  reader: TileReader,
): TileState {
  const cover = coverWindow(atMicros, windowSeconds);
  let state = emptyTileState(sumKind);
  for (const tile of cover.tiles) state = mergeTileStates(state, reader.tile(tile));
  for (const range of cover.raw)
    for (const event of reader.events(range.from, range.until))
      state = mergeTileStates(state, stateOfEvent(sumKind, event));
  return state;
}
