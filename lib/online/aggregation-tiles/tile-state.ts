import { isIntegerType, isNumericType, type ValueType } from '../../definitions/value-types.ts';
import { unitsOf } from './exact-float-sum.ts';
import {
  compareIngestOrder,
  compareNullable,
  type IngestOrder,
  ingestOrderOf,
} from './ingest-order.ts';
import { compareValues, type TileValue } from './tile-values.ts';

/** One source row's contribution to a column's tile: its value and rule 2's ordering keys. */
export interface TileEvent extends IngestOrder {
  /** Event time, epoch microseconds. */
  readonly eventMicros: bigint;
  /** Created time, epoch microseconds; null when the source has none (counts as oldest). */
  readonly createdMicros: bigint | null;
  readonly value: TileValue | null;
}

/** How a column's values are summed: exact integers, exact doubles, or not at all. */
export type SumKind = 'integer' | 'float' | 'none';

/** The newest non-NULL row so far, by rule 2 (event time, created time, ingest order). */
export interface LastCandidate extends IngestOrder {
  readonly value: TileValue;
  readonly eventMicros: bigint;
  readonly createdMicros: bigint | null;
}

/**
 * A column's partial aggregate over a set of rows (a tile, or a union of tiles): exact and
 * mergeable in any order and grouping, so combining tiles gives what the rows themselves give.
 */
export interface TileState {
  readonly sumKind: SumKind;
  /** Rows with a non-NULL value. */
  readonly count: number;
  /** Integer columns: the exact sum; float columns: the exact sum of the finite values in 2^-1074 units. */
  readonly sum: bigint;
  readonly nan: number;
  readonly positiveInfinity: number;
  readonly negativeInfinity: number;
  readonly min: TileValue | null;
  readonly max: TileValue | null;
  readonly last: LastCandidate | null;
}

/** How a column of `type` is summed (float32 values are summed as the doubles they are). */
export function sumKindOf(type: ValueType): SumKind {
  if (!isNumericType(type)) return 'none';
  return isIntegerType(type) ? 'integer' : 'float';
}

export function emptyTileState(sumKind: SumKind): TileState {
  return {
    sumKind,
    count: 0,
    sum: 0n,
    nan: 0,
    positiveInfinity: 0,
    negativeInfinity: 0,
    min: null,
    max: null,
    last: null,
  };
}

/** The state of `event` alone (a NULL value counts for nothing, as offline). */
export function stateOfEvent(sumKind: SumKind, event: TileEvent): TileState {
  const empty = emptyTileState(sumKind);
  const { value } = event;
  if (value === null) return empty;
  const candidate: LastCandidate = {
    value,
    eventMicros: event.eventMicros,
    createdMicros: event.createdMicros,
    ...ingestOrderOf(event),
  };
  return { ...empty, ...sumOf(sumKind, value), count: 1, min: value, max: value, last: candidate };
}

export function addEvent(state: TileState, event: TileEvent): TileState {
  return mergeTileStates(state, stateOfEvent(state.sumKind, event));
}

/** The state of the union of two disjoint sets of rows. */
export function mergeTileStates(a: TileState, b: TileState): TileState {
  if (a.sumKind !== b.sumKind)
    throw new Error(`cannot merge a ${a.sumKind} sum state with a ${b.sumKind} one`);
  return {
    sumKind: a.sumKind,
    count: a.count + b.count,
    sum: a.sum + b.sum,
    nan: a.nan + b.nan,
    positiveInfinity: a.positiveInfinity + b.positiveInfinity,
    negativeInfinity: a.negativeInfinity + b.negativeInfinity,
    min: pick(a.min, b.min, (x, y) => compareValues(x, y) <= 0),
    max: pick(a.max, b.max, (x, y) => compareValues(x, y) >= 0),
    last: pick(a.last, b.last, (x, y) => compareLast(x, y) >= 0),
  };
}

/**
 * The state of the union of disjoint sets of rows: mergeTileStates over all of them, without
 * an intermediate object per merge (a lookup merges hundreds of tiles per entity and window).
 */
export function mergeAllTileStates(sumKind: SumKind, states: Iterable<TileState>): TileState {
  let count = 0;
  let sum = 0n;
  let nan = 0;
  let positiveInfinity = 0;
  let negativeInfinity = 0;
  let min: TileValue | null = null;
  let max: TileValue | null = null;
  let last: LastCandidate | null = null;
  for (const s of states) {
    if (s.sumKind !== sumKind)
      throw new Error(`cannot merge a ${sumKind} sum state with a ${s.sumKind} one`);
    if (s.count === 0 && s.nan === 0 && s.last === null) continue;
    count += s.count;
    if (s.sum !== 0n) sum += s.sum;
    nan += s.nan;
    positiveInfinity += s.positiveInfinity;
    negativeInfinity += s.negativeInfinity;
    min = pick(min, s.min, (x, y) => compareValues(x, y) <= 0);
    max = pick(max, s.max, (x, y) => compareValues(x, y) >= 0);
    last = pick(last, s.last, (x, y) => compareLast(x, y) >= 0);
  }
  return { sumKind, count, sum, nan, positiveInfinity, negativeInfinity, min, max, last };
}

function pick<T>(a: T | null, b: T | null, keepA: (a: T, b: T) => boolean): T | null {
  if (a === null) return b;
  if (b === null) return a;
  return keepA(a, b) ? a : b;
}

/** Rule 2's order: event time, then created time (missing is oldest), then ingest order. */
export function compareLast(a: LastCandidate, b: LastCandidate): number {
  return (
    compareNullable(a.eventMicros, b.eventMicros) ||
    compareNullable(a.createdMicros, b.createdMicros) ||
    compareIngestOrder(a, b)
  );
}

function sumOf(sumKind: SumKind, value: TileValue): Partial<TileState> {
  if (sumKind === 'none') return {};
  if (sumKind === 'integer') {
    if (typeof value === 'bigint') return { sum: value };
    if (typeof value === 'number' && Number.isSafeInteger(value)) return { sum: BigInt(value) };
    throw new TypeError(`an integer column's value must be an integer, got ${String(value)}`);
  }
  if (typeof value !== 'number')
    throw new TypeError(`a float column's value must be a number, got ${String(value)}`);
  if (Number.isNaN(value)) return { nan: 1 };
  if (value === Number.POSITIVE_INFINITY) return { positiveInfinity: 1 };
  if (value === Number.NEGATIVE_INFINITY) return { negativeInfinity: 1 };
  return { sum: unitsOf(value) };
}
