import { describe, expect, it } from 'vitest';
import { constraintViolations } from '../../../lib/materialize/feature-constraints.ts';
import type { RegistryFeature } from '../../../lib/registry/index.ts';

const features: RegistryFeature[] = [
  { name: 'age', type: 'int64', nullable: false, min: 0, max: 130 },
  { name: 'plan', type: 'string', nullable: true, allowedValues: ['basic', 'pro'] },
  { name: 'rating', type: 'float64', nullable: true, allowedValues: [1, 2.5] },
  { name: 'note', type: 'string', nullable: true },
];

describe('feature constraints at materialization', () => {
  it('accepts rows inside every rule, including nulls of nullable features and bounds themselves', () => {
    expect(
      constraintViolations(features, { age: 0, plan: 'pro', rating: 2.5, note: null }),
    ).toEqual([]);
    expect(constraintViolations(features, { age: 130, plan: null, rating: null })).toEqual([]);
    expect(constraintViolations(features, { age: '42', plan: 'basic', rating: 1 })).toEqual([]);
  });

  it('rejects a null in a feature that is not nullable', () => {
    expect(constraintViolations(features, { age: null })).toEqual([
      'age is null but the feature is not nullable',
    ]);
  });

  it('rejects values below min and above max', () => {
    expect(constraintViolations(features, { age: -1 })).toEqual(['age = -1 is below min 0']);
    expect(constraintViolations(features, { age: 131 })).toEqual(['age = 131 is above max 130']);
    expect(constraintViolations(features, { age: 'many' })).toEqual(['age is not a number: many']);
  });

  it('rejects values outside allowedValues, for text and numbers', () => {
    expect(constraintViolations(features, { age: 1, plan: 'Pro', rating: 3 })).toEqual([
      'plan = "Pro" is not one of ["basic","pro"]',
      'rating = 3 is not one of [1,2.5]',
    ]);
  });
});
