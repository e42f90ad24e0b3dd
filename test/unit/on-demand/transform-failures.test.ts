import { describe, expect, it } from 'vitest';
import { runTransform, TransformError } from '../../../lib/on-demand/transform-values.ts';

const outputs = [{ name: 'score', type: 'float64' as const, nullable: true }];

describe('runTransform turns every transform failure into a TransformError (TRANSFORM_ERROR, not 500)', () => {
  it('a thrown object without a prototype (String(error) throws)', () => {
    expect(() =>
      runTransform(
        () => {
          throw Object.create(null);
        },
        {},
        outputs,
      ),
    ).toThrow(TransformError);
  });

  it('a returned object whose output getter throws', () => {
    expect(() =>
      runTransform(
        () => ({
          get score(): number {
            throw new Error('lazy failure');
          },
        }),
        {},
        outputs,
      ),
    ).toThrow(/reading the transform's result threw: lazy failure/);
  });

  it('a returned object whose then getter throws a non-Error', () => {
    expect(() =>
      runTransform(
        () => ({
          score: 1,
          // biome-ignore lint/suspicious/noThenProperty: a hostile thenable is what this case checks
          get then(): unknown {
            throw 42;
          },
        }),
        {},
        outputs,
      ),
    ).toThrow(TransformError);
  });

  it('a returned proxy whose key listing throws', () => {
    const hostile = new Proxy(
      { score: 1 },
      {
        ownKeys() {
          throw Object.create(null);
        },
      },
    );
    expect(() => runTransform(() => hostile, {}, outputs)).toThrow(TransformError);
  });
});
