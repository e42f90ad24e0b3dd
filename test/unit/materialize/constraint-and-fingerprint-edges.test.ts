import { describe, expect, it } from 'vitest';
import { definitionFingerprint } from '../../../lib/materialize/definition-fingerprint.ts';
import { constraintViolations } from '../../../lib/materialize/feature-constraints.ts';
import { isCovered } from '../../../lib/materialize/ingest-coverage.ts';
import type { RegistryFeature, RegistryFeatureView } from '../../../lib/registry/index.ts';
import type { PlannedView } from '../../../lib/sql/point-in-time-plan.ts';

describe('feature constraints with one bound only', () => {
  const onlyMin: RegistryFeature = { name: 'score', type: 'float64', nullable: true, min: 0 };
  const onlyMax: RegistryFeature = { name: 'score', type: 'float64', nullable: true, max: 1 };

  it('checks a min without a max, and a max without a min', () => {
    expect(constraintViolations([onlyMin], { score: -0.5 })).toEqual([
      'score = -0.5 is below min 0',
    ]);
    expect(constraintViolations([onlyMin], { score: 1e9 })).toEqual([]);
    expect(constraintViolations([onlyMax], { score: 1.5 })).toEqual(['score = 1.5 is above max 1']);
    expect(constraintViolations([onlyMax], { score: -1e9 })).toEqual([]);
    expect(constraintViolations([onlyMax], { score: 'high' })).toEqual([
      'score is not a number: high',
    ]);
  });

  it('compares a numeric allowed value as a number, whatever type the row holds it in', () => {
    const rating: RegistryFeature = {
      name: 'rating',
      type: 'float64',
      nullable: true,
      allowedValues: [2.5],
    };
    expect(constraintViolations([rating], { rating: '2.5' })).toEqual([]);
    expect(constraintViolations([rating], { rating: '2.50' })).toEqual([]);
    expect(constraintViolations([rating], { rating: '3' })).toEqual([
      'rating = "3" is not one of [2.5]',
    ]);
  });
});

describe('an ingest covered by sequence number', () => {
  it('is covered when it has no rows, whatever its first sequence number', () => {
    const empty = { ingestId: 'e', firstSeq: 1_000, rows: 0, committedAtMs: 0 };
    expect(isCovered({ seqThrough: '5' }, empty)).toBe(true);
    expect(isCovered({ seqThrough: '5' }, { ...empty, rows: 1 })).toBe(false);
    expect(isCovered({ seqThrough: '1000' }, { ...empty, rows: 1 })).toBe(true);
  });
});

describe('the definition fingerprint of a view', () => {
  const planned: PlannedView = {
    view: 'customer_profile',
    source: 'profiles',
    joinKeys: [{ name: 'customer_id', type: 'string' }],
    timestampColumn: 'updated_at',
    features: [{ feature: 'age', type: 'int64', sourceType: 'int64', outputName: 'age' }],
  };
  const view = (features: readonly Record<string, unknown>[], ttlSeconds?: number) =>
    ({
      features,
      ...(ttlSeconds === undefined ? {} : { ttlSeconds }),
    }) as unknown as RegistryFeatureView;
  const age = { name: 'age', type: 'int64', nullable: false, description: 'years' };
  const base = definitionFingerprint(view([age], 3_600), planned);

  it('is 16 hex digits and the same for the same definition', () => {
    expect(base).toMatch(/^[0-9a-f]{16}$/);
    expect(definitionFingerprint(view([{ ...age }], 3_600), { ...planned })).toBe(base);
  });

  it('changes with the TTL (also from none), a constraint, a type or the plan', () => {
    const others = [
      definitionFingerprint(view([age], 7_200), planned),
      definitionFingerprint(view([age]), planned),
      definitionFingerprint(view([{ ...age, max: 130 }], 3_600), planned),
      definitionFingerprint(view([{ ...age, type: 'float64' }], 3_600), planned),
      definitionFingerprint(view([age], 3_600), { ...planned, source: 'profiles_v2' }),
    ];
    expect(new Set([base, ...others]).size).toBe(others.length + 1);
  });

  describe('with two features', () => {
    const score = { name: 'score', type: 'float64', nullable: true };
    const plannedScore = {
      feature: 'score',
      type: 'float64',
      sourceType: 'float64',
      outputName: 'score',
    } as const;
    const twoPlanned = { ...planned, features: [...planned.features, plannedScore] };
    const two = definitionFingerprint(view([age, score], 3_600), twoPlanned);

    it('does not change when the registry lists the features in another order', () => {
      const reordered = { ...planned, features: [plannedScore, ...planned.features] };
      expect(definitionFingerprint(view([score, age], 3_600), reordered)).toBe(two);
    });

    it('changes when a feature is renamed or retyped', () => {
      const renamed = { ...score, name: 'rating' };
      const renamedPlan = { ...plannedScore, feature: 'rating', outputName: 'rating' };
      const retyped = { ...score, type: 'int64' };
      const retypedPlan = { ...plannedScore, type: 'int64', sourceType: 'int64' } as const;
      const others = [
        definitionFingerprint(view([age, renamed], 3_600), {
          ...planned,
          features: [...planned.features, renamedPlan],
        }),
        definitionFingerprint(view([age, retyped], 3_600), {
          ...planned,
          features: [...planned.features, retypedPlan],
        }),
      ];
      expect(new Set([two, ...others]).size).toBe(3);
    });
  });

  it('does not change with a feature’s description (nothing stored depends on it)', () => {
    expect(
      definitionFingerprint(view([{ ...age, description: 'age in years' }], 3_600), planned),
    ).toBe(base);
  });
});
