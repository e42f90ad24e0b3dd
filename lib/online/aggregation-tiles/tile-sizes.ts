/** Tile sizes in microseconds (ADR 0020): an event belongs to tile `[k·S, (k+1)·S)` of each size. */
export const minuteMicros = 60_000_000n;
export const hourMicros = 60n * minuteMicros;
export const dayMicros = 24n * hourMicros;

/** The sizes from coarse to fine; below the finest, edges are read as raw events. */
export const tileLadder: readonly bigint[] = [dayMicros, hourMicros, minuteMicros];

/**
 * The coarsest tile a window of `windowSeconds` is cut into: minutes up to 1 h, hours up to
 * 2 d, days beyond. Coarser tiles would leave most of a short window to its edges; finer ones
 * would make a lookup read more blocks (ADR 0020, "Tile sizes").
 */
export function coarsestTileMicros(windowSeconds: number): bigint {
  if (!Number.isSafeInteger(windowSeconds) || windowSeconds <= 0)
    throw new RangeError(`a window is a positive whole number of seconds, got ${windowSeconds}`);
  if (windowSeconds <= 3_600) return minuteMicros;
  if (windowSeconds <= 2 * 86_400) return hourMicros;
  return dayMicros;
}

/** Start of the tile of size `sizeMicros` holding `eventMicros` (floor, also before 1970). */
export function tileStart(eventMicros: bigint, sizeMicros: bigint): bigint {
  if (sizeMicros <= 0n) throw new RangeError(`a tile size is positive, got ${sizeMicros}`);
  const remainder = eventMicros % sizeMicros;
  return eventMicros - (remainder < 0n ? remainder + sizeMicros : remainder);
}

/** The tile of each size that an event at `eventMicros` adds to (one per size of the ladder). */
export function tilesOfEvent(eventMicros: bigint): { size: bigint; start: bigint }[] {
  return tileLadder.map((size) => ({ size, start: tileStart(eventMicros, size) }));
}
