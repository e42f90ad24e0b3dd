import { describe, expect, it } from 'vitest';
import { runTransform, TransformError } from '../../../lib/on-demand/transform-values.ts';

describe('runTransform float32 output check', () => {
  it('refuses a finite float64 that overflows float32 instead of returning Infinity (served as PRESENT null)', () => {
    const outputs = [{ name: 'score', type: 'float32' as const, nullable: true }];
    let got: unknown;
    let error: unknown;
    try {
      got = runTransform(() => ({ score: 1e39 }), {}, outputs);
    } catch (e) {
      error = e;
    }

    expect(got).toBeUndefined();
    expect(error).toBeInstanceOf(TransformError);
  });
});

describe('runTransform float32 constraints', () => {
  it('accepts a float32 output exactly at its declared max (rounding to float32 must not push it over)', () => {
    const outputs = [
      { name: 'share', type: 'float32' as const, nullable: false, min: 0, max: 0.1 },
    ];

    expect(() => runTransform(() => ({ share: 0.1 }), {}, outputs)).not.toThrow();
  });
});

describe('runTransform float32 min', () => {
  it('accepts a float32 output exactly at its declared min and refuses one below it', () => {
    const outputs = [{ name: 'share', type: 'float32' as const, nullable: false, min: 0.7 }];
    expect(runTransform(() => ({ share: 0.7 }), {}, outputs)).toEqual({ share: Math.fround(0.7) });
    expect(() => runTransform(() => ({ share: 0.69 }), {}, outputs)).toThrow(/below its min 0.7/);
  });
});
