import { describe, expect, it } from 'vitest';
import {
  mergeTileStates,
  stateOfEvent,
} from '../../../../lib/online/aggregation-tiles/tile-state.ts';
import {
  decodeTileStates,
  encodeTileStates,
} from '../../../../lib/online/aggregation-tiles/tile-state-codec.ts';

const event = (value: number | bigint | string | null, eventMicros = 1n) => ({
  eventMicros,
  createdMicros: 7n,
  seq: 2n ** 70n,
  value,
});

describe('tile states as DynamoDB text', () => {
  it('keeps exact sums beyond a DynamoDB number, bigints, NaN, infinities and -0 through a round trip', () => {
    const float = mergeTileStates(
      stateOfEvent('float', event(Number.MAX_VALUE)),
      stateOfEvent('float', event(Number.NaN, 2n)),
    );
    const states = {
      amount: mergeTileStates(float, stateOfEvent('float', event(-0, 3n))),
      items: stateOfEvent('integer', event(2n ** 63n - 1n)),
      category: stateOfEvent('none', event('😀')),
    };
    const decoded = decodeTileStates(encodeTileStates(states), 'the test item');
    expect(decoded).toEqual(states);
    expect(Object.is(decoded.amount?.min, -0)).toBe(true);
    expect(decoded.amount?.max).toBeNaN();
    expect(decoded.amount?.sum).toBe(states.amount.sum);
  });

  it('names the item when its text is damaged, and changes nothing', () => {
    expect(() => decodeTileStates('{"amount":', 'minute item X')).toThrow(
      /the tile states of minute item X are damaged/,
    );
    expect(() => decodeTileStates('[1]', 'minute item X')).toThrow(/not an object of columns/);
    expect(() =>
      decodeTileStates('{"amount":{"sumKind":"float","sum":1}}', 'minute item X'),
    ).toThrow(/column "amount" in minute item X is damaged/);
  });
});
