import { describe, expect, it } from 'vitest';
import { Prng } from '../../../../lib/demo/prng.ts';
import {
  coarsestTileMicros,
  dayMicros,
  hourMicros,
  minuteMicros,
  tileStart,
  tilesOfEvent,
} from '../../../../lib/online/aggregation-tiles/tile-sizes.ts';
import { coverWindow } from '../../../../lib/online/aggregation-tiles/window-cover.ts';

const second = 1_000_000n;

/** The pieces of a cover as half-open ranges, sorted. */
function pieces(at: bigint, windowSeconds: number) {
  const cover = coverWindow(at, windowSeconds);
  return [
    ...cover.tiles.map((t) => ({ from: t.start, until: t.start + t.size, tile: t })),
    ...cover.raw.map((r) => ({ from: r.from, until: r.until, tile: undefined })),
  ].sort((a, b) => (a.from < b.from ? -1 : 1));
}

describe('tile sizes', () => {
  it('puts an event before 1970 in the tile that starts at or before it', () => {
    expect(tileStart(-1n, minuteMicros)).toBe(-minuteMicros);
    expect(tileStart(-minuteMicros, minuteMicros)).toBe(-minuteMicros);
    expect(tileStart(minuteMicros - 1n, minuteMicros)).toBe(0n);
  });

  it('cuts windows up to 1 h into minutes, up to 2 d into hours, longer ones into days', () => {
    expect(coarsestTileMicros(3_600)).toBe(minuteMicros);
    expect(coarsestTileMicros(3_601)).toBe(hourMicros);
    expect(coarsestTileMicros(172_800)).toBe(hourMicros);
    expect(coarsestTileMicros(172_801)).toBe(dayMicros);
  });

  it('refuses a window that is not a positive whole number of seconds', () => {
    expect(() => coarsestTileMicros(0)).toThrow(/positive whole number of seconds, got 0/);
    expect(() => coarsestTileMicros(1.5)).toThrow(/got 1.5/);
  });

  it('adds an event to one tile of each size, each holding it', () => {
    const at = 1_764_633_600_123_456n;
    for (const { size, start } of tilesOfEvent(at)) {
      expect(start <= at && at < start + size).toBe(true);
      expect(start % size).toBe(0n);
    }
  });
});

describe('the cover of a window (t - W, t]', () => {
  it('covers every microsecond of (t - W, t] exactly once, with aligned tiles, at random instants', () => {
    const prng = new Prng(20);
    const windows = [60, 600, 3_600, 3_601, 86_400, 172_800, 7 * 86_400, 90 * 86_400];
    for (let i = 0; i < 400; i++) {
      const at = BigInt(Math.floor(prng.next() * 4e15)) - 2_000_000_000_000_000n;
      const w = windows[i % windows.length] ?? 60;
      const parts = pieces(at, w);
      expect(parts[0]?.from).toBe(at - BigInt(w) * second + 1n);
      expect(parts.at(-1)?.until).toBe(at + 1n);
      parts.forEach((p, k) => {
        expect(p.from < p.until).toBe(true);
        if (k > 0) expect(p.from).toBe(parts[k - 1]?.until);
        if (p.tile) expect(tileStart(p.tile.start, p.tile.size)).toBe(p.tile.start);
        else expect(tileStart(p.until - 1n, minuteMicros)).toBe(tileStart(p.from, minuteMicros));
      });
    }
  });

  it('leaves the row exactly at t - W out and takes the row at t', () => {
    const at = 10n * dayMicros + 123n;
    const parts = pieces(at, 86_400);
    const holds = (x: bigint) => parts.some((p) => p.from <= x && x < p.until);
    expect(holds(at - dayMicros)).toBe(false);
    expect(holds(at - dayMicros + 1n)).toBe(true);
    expect(holds(at)).toBe(true);
    expect(holds(at + 1n)).toBe(false);
  });

  it('reads no raw events for a window whose edges fall on minutes', () => {
    const at = 100n * dayMicros - 1n;
    const cover = coverWindow(at, 30 * 86_400);
    expect(cover.raw).toEqual([]);
    expect(cover.tiles.map((t) => t.size)).toEqual(Array(30).fill(dayMicros));
  });

  it('bounds the tiles of each size: at most W / size whole tiles and two edge runs finer', () => {
    const at = 100n * dayMicros + 7n * hourMicros + 13n * minuteMicros + 5n * second + 42n;
    const cover = coverWindow(at, 30 * 86_400);
    const count = (size: bigint) => cover.tiles.filter((t) => t.size === size).length;
    expect(count(dayMicros)).toBe(29);
    expect(count(hourMicros)).toBe(23);
    expect(count(minuteMicros)).toBe(59);
    expect(cover.raw).toHaveLength(2);
  });
});
