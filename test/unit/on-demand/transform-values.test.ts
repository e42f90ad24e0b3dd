import { describe, expect, it } from 'vitest';
import {
  runTransform,
  TransformError,
  type TransformOutputSpec,
  transformInput,
} from '../../../lib/on-demand/transform-values.ts';

const outputs: TransformOutputSpec[] = [
  { name: 'score', type: 'float32', nullable: true, min: 0, max: 10 },
  { name: 'count', type: 'int32', nullable: false },
  { name: 'tier', type: 'string', nullable: true, allowedValues: ['gold', 'basic'] },
];
const run = (result: unknown) => runTransform(() => result as Record<string, unknown>, {}, outputs);

describe('runTransform', () => {
  it('returns the declared outputs, float32 rounded as a Parquet FLOAT stores it', () => {
    expect(run({ score: 0.1, count: 3, tier: null })).toEqual({
      score: Math.fround(0.1),
      count: 3,
      tier: null,
    });
  });

  it.each([
    [{ score: 1, tier: 'gold' }, 'returned no "count"'],
    [
      { score: 1, count: 1, tier: 'gold', extra: 1 },
      'returned "extra", which is not a declared feature',
    ],
    [{ score: 1, count: null, tier: 'gold' }, '"count" (int32) is not nullable'],
    [{ score: 1, count: 2 ** 31, tier: 'gold' }, 'int32 range'],
    [{ score: 1, count: 1.5, tier: 'gold' }, 'int32 range'],
    [{ score: Number.NaN, count: 1, tier: 'gold' }, 'must be a finite number, got NaN'],
    [{ score: 11, count: 1, tier: 'gold' }, 'above its max 10'],
    [{ score: -1, count: 1, tier: 'gold' }, 'below its min 0'],
    [{ score: 1, count: 1, tier: 'silver' }, 'not one of ["gold","basic"]'],
    [{ score: '1', count: 1, tier: 'gold' }, 'must be a finite number, got "1"'],
    [Promise.resolve({}), 'returned a promise'],
    [[1], 'not an object of features'],
    [undefined, 'returned nothing'],
  ])('refuses %j: %s', (result, message) => {
    expect(() => run(result)).toThrow(TransformError);
    expect(() => run(result)).toThrow(message);
  });

  it('reports a throwing transform with its message, the error kept as the cause', () => {
    const cause = new Error('boom');
    try {
      runTransform(
        () => {
          throw cause;
        },
        {},
        outputs,
      );
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(TransformError);
      expect((error as Error).message).toBe('transform threw: boom');
      expect((error as Error).cause).toBe(cause);
    }
  });

  it('gives the transform a frozen row', () => {
    expect(() =>
      runTransform(
        (row) => {
          (row as Record<string, unknown>).x = 1;
          return {};
        },
        {},
        [],
      ),
    ).toThrow('transform threw');
  });
});

describe('transformInput', () => {
  it('gives an int64 as a number whether DuckDB read it as a bigint or a lookup as text', () => {
    expect(transformInput('int64', 12n)).toBe(12);
    expect(transformInput('int64', '9007199254740993')).toBe(9007199254740992);
    expect(transformInput('float64', null)).toBeNull();
    expect(transformInput('bool', true)).toBe(true);
  });
});
