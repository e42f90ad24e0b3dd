import { coarsestTileMicros, minuteMicros, tileLadder, tileStart } from './tile-sizes.ts';

/** A whole tile `[start, start + size)` inside a window. */
export interface CoveredTile {
  readonly size: bigint;
  readonly start: bigint;
}

/** Event times `[from, until)` at an edge of a window, finer than any tile: read as raw events. */
export interface RawRange {
  readonly from: bigint;
  readonly until: bigint;
}

export interface WindowCover {
  readonly tiles: readonly CoveredTile[];
  readonly raw: readonly RawRange[];
}

/**
 * The tiles and raw ranges that cover exactly the window `(t - W, t]` (ADR 0020), each event
 * time in it in exactly one of them: whole tiles of the window's coarsest size, the partial
 * tiles at its edges cut into whole tiles of the next finer sizes, and the partial minutes at
 * the two ends left as raw ranges, each within one minute. In integer microseconds
 * `(t - W, t]` is `[t - W + 1, t + 1)`.
 */
export function coverWindow(atMicros: bigint, windowSeconds: number): WindowCover {
  const coarsest = coarsestTileMicros(windowSeconds);
  const sizes = tileLadder.filter((size) => size <= coarsest);
  const tiles: CoveredTile[] = [];
  const raw: RawRange[] = [];
  const cover = (from: bigint, until: bigint, level: number): void => {
    if (from >= until) return;
    const size = sizes[level];
    if (size === undefined) {
      // Within one minute each, so a range is read from one minute's raw events.
      for (let start = from; start < until; start = tileStart(start, minuteMicros) + minuteMicros)
        raw.push({ from: start, until: min(until, tileStart(start, minuteMicros) + minuteMicros) });
      return;
    }
    const first = ceilTo(from, size);
    const end = tileStart(until, size);
    if (first >= end) {
      cover(from, until, level + 1);
      return;
    }
    cover(from, first, level + 1);
    for (let start = first; start < end; start += size) tiles.push({ size, start });
    cover(end, until, level + 1);
  };
  cover(atMicros - BigInt(windowSeconds) * 1_000_000n + 1n, atMicros + 1n, 0);
  return { tiles, raw };
}

function ceilTo(micros: bigint, size: bigint): bigint {
  const floor = tileStart(micros, size);
  return floor === micros ? floor : floor + size;
}

const min = (a: bigint, b: bigint) => (a < b ? a : b);
