import { describe, expect, it } from 'vitest';
import { typedValue } from '../../../lib/offline/athena-query-runner.ts';

// Athena writes a REAL (a float32 feature) as the shortest text that names it among floats:
// 0.1f is "0.1". DuckDB and Parquet readers give that float's own value, 0.10000000149011612.
describe('Athena REAL values read from result text', () => {
  it.each(['real', 'float'])(
    'gives a %s the float32 value it names, as the Parquet of a training set holds it',
    (type) => {
      for (const [text, value] of [
        ['0.1', Math.fround(0.1)],
        ['3.4028235E38', Math.fround(3.4028235e38)],
        ['1.0E-5', Math.fround(1e-5)],
        ['-0.0', -0],
        ['16777216', 16_777_216],
      ] as const)
        expect(Object.is(typedValue(text, type), value), `${type} ${text}`).toBe(true);
    },
  );

  it('reads a double as the double it names', () => {
    expect(typedValue('0.1', 'double')).toBe(0.1);
    expect(typedValue('0.30000000000000004', 'double')).toBe(0.1 + 0.2);
    expect(Object.is(typedValue('-0.0', 'double'), -0)).toBe(true);
  });
});
