import { describe, expect, it } from 'vitest';
import { finalValue } from '../../../../lib/online/aggregation-tiles/final-value.ts';
import {
  emptyTileState,
  mergeAllTileStates,
  mergeTileStates,
  type SumKind,
  stateOfEvent,
  sumKindOf,
  type TileEvent,
  type TileState,
} from '../../../../lib/online/aggregation-tiles/tile-state.ts';
import {
  compareValues,
  type TileValue,
} from '../../../../lib/online/aggregation-tiles/tile-values.ts';

const day = 86_400_000_000n;
const event = (
  eventMicros: bigint,
  value: TileValue | null,
  over: Partial<TileEvent> = {},
): TileEvent => ({ eventMicros, createdMicros: null, seq: null, value, ...over });
const stateOf = (kind: SumKind, events: TileEvent[]): TileState =>
  events.reduce((s, e) => mergeTileStates(s, stateOfEvent(kind, e)), emptyTileState(kind));

describe('tile states', () => {
  it('gives count 0 and NULL for every other function on an empty window', () => {
    const empty = emptyTileState('float');
    expect(finalValue('count', empty, 0n)).toBe(0);
    for (const fn of ['sum', 'avg', 'min', 'max', 'last', 'days_since_last'] as const)
      expect(finalValue(fn, empty, 0n)).toBeNull();
  });

  it('counts NULL values for nothing, and a window of only NULLs as empty', () => {
    const state = stateOf('integer', [event(1n, null), event(2n, null)]);
    expect(finalValue('count', state, 3n)).toBe(0);
    expect(finalValue('sum', state, 3n)).toBeNull();
    expect(finalValue('last', state, 3n)).toBeNull();
  });

  it('gives the same state whichever way the rows are grouped into tiles', () => {
    const events = [1.5, -2.25, 1e16, 3, -1e16, 0.1].map((v, i) => event(BigInt(i), v));
    const whole = stateOf('float', events);
    const split = mergeTileStates(
      stateOf('float', events.slice(3)),
      stateOf('float', events.slice(0, 3)),
    );
    expect(split).toEqual(whole);
    expect(finalValue('sum', split, 9n)).toBe(finalValue('sum', whole, 9n));
    expect(finalValue('sum', whole, 9n)).toBe(2.35);
  });

  it('merges many tiles at once into what merging them one by one gives, NaN, infinities and ties included', () => {
    const values = [1.5, Number.NaN, null, -2.25, Infinity, 1e16, 3, -Infinity, 0.1, -0, 0];
    const tiles = values.map((v, i) =>
      stateOf('float', [event(BigInt(i % 4), v, { seq: BigInt(i % 3) }), event(BigInt(i), 2)]),
    );
    const oneByOne = tiles.reduce(mergeTileStates, emptyTileState('float'));
    expect(mergeAllTileStates('float', tiles)).toEqual(oneByOne);
    expect(mergeAllTileStates('integer', [])).toEqual(emptyTileState('integer'));
    expect(() => mergeAllTileStates('integer', tiles)).toThrow(/cannot merge/);
  });

  it('sums an integer column exactly beyond 2^53 and averages it as offline does', () => {
    const state = stateOf('integer', [event(1n, 2n ** 62n), event(2n, 2n ** 62n), event(3n, -1)]);
    expect(finalValue('sum', state, 3n)).toBe(2n ** 63n - 1n);
    expect(finalValue('avg', stateOf('integer', [event(1n, 1), event(2n, 2)]), 3n)).toBe(1.5);
  });

  it('takes NaN above every number for max, as DuckDB orders it, and NaN or infinities for the sum', () => {
    const state = stateOf('float', [event(1n, 1), event(2n, Number.NaN), event(3n, -5)]);
    expect(finalValue('max', state, 3n)).toBeNaN();
    expect(finalValue('min', state, 3n)).toBe(-5);
    expect(finalValue('sum', state, 3n)).toBeNaN();
    const infinite = stateOf('float', [event(1n, Number.POSITIVE_INFINITY), event(2n, 1)]);
    expect(finalValue('sum', infinite, 3n)).toBe(Number.POSITIVE_INFINITY);
    const both = mergeTileStates(infinite, stateOf('float', [event(4n, Number.NEGATIVE_INFINITY)]));
    expect(finalValue('sum', both, 5n)).toBeNaN();
  });

  it('orders strings by code point (UTF-8 byte order), not by UTF-16 unit', () => {
    // U+FF5E is one UTF-16 unit above the surrogates of U+1F600 but a smaller code point.
    expect(compareValues('\uff5e', '😀')).toBeLessThan(0);
    expect('\uff5e' < '😀').toBe(false);
    const state = stateOf('none', [event(1n, '😀'), event(2n, '\uff5e'), event(3n, 'a')]);
    expect(finalValue('max', state, 3n)).toBe('😀');
    expect(finalValue('min', state, 3n)).toBe('a');
  });

  it('takes as last the newest row by event time, then created time (missing oldest), then fstore_seq', () => {
    const rows = [
      event(5n, 'late-created', { createdMicros: 9n, seq: 1n }),
      event(5n, 'no-created', { createdMicros: null, seq: 7n }),
      event(5n, 'higher-seq', { createdMicros: 9n, seq: 2n }),
      event(4n, 'older', { createdMicros: 99n, seq: 99n }),
      event(6n, null, { createdMicros: 99n, seq: 99n }),
    ];
    for (const order of [rows, [...rows].reverse()]) {
      const state = stateOf('none', order);
      expect(finalValue('last', state, 10n)).toBe('higher-seq');
      expect(finalValue('days_since_last', state, 5n + day)).toBe(1);
    }
  });

  it('sums float32 and float64 columns exactly, integers as integers, and no other type', () => {
    expect(sumKindOf('float32')).toBe('float');
    expect(sumKindOf('int32')).toBe('integer');
    expect(sumKindOf('string')).toBe('none');
    expect(() => stateOfEvent('integer', event(1n, 1.5))).toThrow(/must be an integer, got 1.5/);
    expect(() => mergeTileStates(emptyTileState('float'), emptyTileState('integer'))).toThrow(
      /cannot merge a float sum state with a integer one/,
    );
  });

  it('keeps count_distinct batch-fresh: it has no tile value', () => {
    expect(() => finalValue('count_distinct', stateOf('none', [event(1n, 'a')]), 2n)).toThrow(
      /batch-fresh/,
    );
  });
});
