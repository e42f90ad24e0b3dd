import type { AggregationFunction } from '../../definitions/index.ts';
import { roundUnits } from './exact-float-sum.ts';
import type { TileState } from './tile-state.ts';
import type { TileValue } from './tile-values.ts';

const microsPerDay = 86_400_000_000;

/**
 * A feature's value at `atMicros` from the merged state of exactly the rows of its window
 * (docs/point-in-time.md rule 8): `count` 0 and the others NULL on an empty window; float sums
 * the exact sum rounded once (ADR 0020); `avg` that sum over the count; `last` the newest
 * non-NULL value by rule 2; `days_since_last` its age in days. `count_distinct` has no tile
 * state: it stays batch-fresh.
 */
export function finalValue(
  fn: AggregationFunction,
  state: TileState,
  atMicros: bigint,
): TileValue | null {
  if (fn === 'count') return state.count;
  if (state.count === 0) return null;
  switch (fn) {
    case 'sum':
      return sumValue(state);
    case 'avg': {
      const sum = sumValue(state);
      return Number(sum) / state.count;
    }
    case 'min':
      return state.min;
    case 'max':
      return state.max;
    case 'last':
      return state.last?.value ?? null;
    case 'days_since_last':
      return state.last === null ? null : Number(atMicros - state.last.eventMicros) / microsPerDay;
    case 'count_distinct':
      throw new Error('count_distinct has no tile state: it stays batch-fresh (ADR 0020)');
  }
}

function sumValue(state: TileState): number | bigint {
  switch (state.sumKind) {
    case 'integer':
      return state.sum;
    case 'float':
      if (state.nan > 0 || (state.positiveInfinity > 0 && state.negativeInfinity > 0)) return NaN;
      if (state.positiveInfinity > 0) return Number.POSITIVE_INFINITY;
      if (state.negativeInfinity > 0) return Number.NEGATIVE_INFINITY;
      return roundUnits(state.sum);
    case 'none':
      throw new Error('sum and avg need a numeric column');
  }
}
