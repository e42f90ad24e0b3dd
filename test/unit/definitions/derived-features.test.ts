import { describe, expect, it } from 'vitest';
import { defineFeatureView, defineSource } from '../../../lib/definitions/index.ts';
import { customer, expectRejected, profiles } from './fixtures.ts';

const view = (features: Record<string, unknown>) => () =>
  defineFeatureView({
    name: 'profile',
    entities: [customer],
    source: profiles,
    features: features as never,
  });

const label = 'feature view "profile"';

describe('derived features (expr)', () => {
  it('infers the type of a derived feature from its expression and keeps the expression', () => {
    const built = view({
      age_next_year: { expr: 'age + 1' },
      premium: { expr: "lower(plan) = 'premium'", description: 'on the premium plan' },
      score: 'float32',
    })();
    expect(built.features).toEqual([
      { name: 'age_next_year', type: 'int64', expr: 'age + 1', nullable: true },
      {
        name: 'premium',
        type: 'bool',
        expr: "lower(plan) = 'premium'",
        description: 'on the premium plan',
        nullable: true,
      },
      { name: 'score', type: 'float32', nullable: true },
    ]);
  });

  it('takes a declared type the expression widens to, and constraints on it', () => {
    const built = view({ half_age: { expr: 'age', type: 'float64', min: 0 } })();
    expect(built.features[0]).toMatchObject({ type: 'float64', expr: 'age', min: 0 });
  });

  it('may be named like a source column, computing it from others', () => {
    expect(view({ score: { expr: 'score * 2' } })().features[0]?.type).toBe('float64');
  });

  it('refuses a declared type narrower than the expression gives', () => {
    expectRejected(view({ age_next_year: { expr: 'age + 1', type: 'int32' } }), {
      definition: label,
      field: 'features.age_next_year.type',
      message: 'is int32, but expression "age + 1" gives int64',
      hint: 'declare the feature as int64',
    });
  });

  it('refuses an unknown column, naming the expression, its position and the closest column', () => {
    expectRejected(view({ yearly: { expr: 'scor * 12' } }), {
      definition: label,
      field: 'features.yearly.expr',
      message: 'unknown column "scor"; did you mean "score"? at column 1 of "scor * 12"',
      hint: 'use a column of the source',
    });
  });

  it('refuses a type error, an unknown function and a syntax error, each at its feature', () => {
    expectRejected(view({ a: { expr: 'plan + 1' } }), {
      definition: label,
      field: 'features.a.expr',
      message: 'the left side of + must be a number, but is string at column 1',
      hint: 'docs/expressions.md',
    });
    expectRejected(view({ b: { expr: 'median(age)' } }), {
      definition: label,
      field: 'features.b.expr',
      message: 'unknown function "median"',
      hint: 'the functions are',
    });
    expectRejected(view({ c: { expr: 'age; DROP TABLE profiles' } }), {
      definition: label,
      field: 'features.c.expr',
      message: 'unexpected ";" at column 4',
      hint: 'remove the ";"',
    });
  });

  it('refuses an always-NULL expression without a type, and a feature with neither type nor expr', () => {
    expectRejected(view({ nothing: { expr: 'NULL' } }), {
      definition: label,
      field: 'features.nothing.type',
      message: 'is always NULL',
      hint: 'declare the type',
    });
    expectRejected(view({ bare: { description: 'no type' } }), {
      definition: label,
      field: 'features.bare.type',
      message: 'is required',
      hint: 'use one of int32',
    });
  });

  it('still refuses a derived feature named like a join key', () => {
    expectRejected(view({ customer_id: { expr: 'lower(plan)' } }), {
      definition: label,
      field: 'features.customer_id',
      message: 'is a join key of this view',
      hint: 'remove it',
    });
  });
});

describe('source row filter', () => {
  const source = (filter: string) => () =>
    defineSource({
      name: 'profiles_filtered',
      schema: { customer_id: 'string', plan: 'string', age: 'int32', event_ts: 'timestamp' },
      timestampField: 'event_ts',
      filter,
    });

  it('keeps a condition over the schema columns', () => {
    expect(source("plan <> 'trial' AND age >= 18")().filter).toBe("plan <> 'trial' AND age >= 18");
  });

  it('refuses a filter that is not a condition', () => {
    expectRejected(source('age + 1'), {
      definition: 'source "profiles_filtered"',
      field: 'filter',
      message: 'gives int64, but a row filter must be a condition (bool)',
      hint: 'compare it',
    });
  });

  it('refuses unknown columns and injection attempts, naming the position', () => {
    expectRejected(source("plna <> 'trial'"), {
      definition: 'source "profiles_filtered"',
      field: 'filter',
      message: 'unknown column "plna"; did you mean "plan"? at column 1',
      hint: 'use a column of the source',
    });
    expectRejected(source("plan <> 'trial' -- OR 1=1"), {
      definition: 'source "profiles_filtered"',
      field: 'filter',
      message: 'comments are not allowed at column 17',
      hint: 'remove the comment',
    });
  });
});
