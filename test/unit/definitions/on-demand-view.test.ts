import { describe, expect, it } from 'vitest';
import {
  defineFeatureService,
  defineFeatureView,
  defineOnDemandView,
  type OnDemandViewInput,
} from '../../../lib/definitions/index.ts';
import { customer, expectRejected, profiles } from './fixtures.ts';

const profile = defineFeatureView({
  name: 'profile',
  entities: [customer],
  source: profiles,
  features: { age: 'int32', plan: 'string', score: 'float32', signup_ts: 'timestamp' },
});

const valid: OnDemandViewInput = {
  name: 'spend_ratio',
  request: { basket_amount: 'float64' },
  inputs: [profile.select(['score'])],
  features: { basket_to_score: 'float64', big_basket: 'bool' },
  transform: (row) => ({
    basket_to_score: row.score ? row.basket_amount / row.score : null,
    big_basket: row.basket_amount > 100,
  }),
};
const label = 'on-demand view "spend_ratio"';

describe('defineOnDemandView', () => {
  it('keeps the request fields, the inputs under their row names and the transform source', () => {
    const view = defineOnDemandView(valid);
    expect(view.request).toEqual([{ name: 'basket_amount', type: 'float64' }]);
    expect(view.inputs.map((i) => [i.view.name, i.feature, i.name, i.type])).toEqual([
      ['profile', 'score', 'score', 'float32'],
    ]);
    expect(view.entities.map((e) => e.name)).toEqual(['customer']);
    expect(view.transformSource).toContain('basket_to_score');
    expect(view.transform({ basket_amount: 150, score: 3 })).toEqual({
      basket_to_score: 50,
      big_basket: true,
    });
    expect(Object.isFrozen(view)).toBe(true);
  });

  it('refuses an input feature its view does not have, naming the view', () => {
    expectRejected(() => defineOnDemandView({ ...valid, inputs: [profile.select(['scor'])] }), {
      definition: label,
      field: 'inputs[profile].scor',
      message: 'view "profile" has no feature "scor"',
      hint: 'fix the feature name',
    });
  });

  it('refuses a request field named like an input feature', () => {
    expectRejected(() => defineOnDemandView({ ...valid, request: { score: 'float64' } }), {
      definition: label,
      field: 'request.score',
      message: 'also the input profile.score',
      hint: 'alias the input',
    });
  });

  it('refuses a request field named like a join key of an input view', () => {
    expectRejected(() => defineOnDemandView({ ...valid, request: { customer_id: 'string' } }), {
      definition: label,
      field: 'request.customer_id',
      message: 'join key of entity "customer"',
      hint: 'rename the request field',
    });
  });

  it('refuses a request or output type transforms do not handle', () => {
    expectRejected(
      () =>
        defineOnDemandView({
          ...valid,
          request: { basket_amount: 'timestamp' as 'float64' },
        }),
      {
        definition: label,
        field: 'request.basket_amount',
        message: 'type "timestamp" is not supported',
        hint: 'use one of int32',
      },
    );
    expectRejected(
      () => defineOnDemandView({ ...valid, features: { ratio: 'list<float32>' as 'float64' } }),
      {
        definition: label,
        field: 'features.ratio',
        message: 'not supported',
        hint: 'use one of',
      },
    );
  });

  it('refuses an input feature of a type transforms do not read', () => {
    expectRejected(
      () => defineOnDemandView({ ...valid, inputs: [profile.select(['signup_ts'])] }),
      {
        definition: label,
        field: 'inputs[profile].signup_ts',
        message: 'is timestamp',
        hint: 'select features of type',
      },
    );
  });

  it('refuses an async transform', () => {
    expectRejected(
      () =>
        defineOnDemandView({
          ...valid,
          transform: (async (row: { basket_amount: number }) => ({
            basket_to_score: row.basket_amount,
            big_basket: false,
          })) as never,
        }),
      { definition: label, field: 'transform', message: 'async function', hint: 'no await' },
    );
  });

  it.each([
    ['Date.now', () => Date.now()],
    ['new Date()', () => new Date().getTime()],
    ['Math.random', () => Math.random()],
  ])('refuses a transform that reads %s, found in a run with frozen globals', (read, impure) => {
    expectRejected(
      () =>
        defineOnDemandView({
          ...valid,
          transform: (row) => ({ basket_to_score: row.basket_amount * impure(), big_basket: true }),
        }),
      { definition: label, field: 'transform', message: `reads ${read}`, hint: 'request field' },
    );
  });

  it('finds an impure read even when the transform catches the error it raised', () => {
    expectRejected(
      () =>
        defineOnDemandView({
          ...valid,
          transform: (row) => {
            let now = 0;
            try {
              now = Date.now();
            } catch {}
            return { basket_to_score: row.basket_amount + now, big_basket: true };
          },
        }),
      { definition: label, field: 'transform', message: 'reads Date.now', hint: 'request field' },
    );
  });

  it('puts the real clock back after the check run', () => {
    defineOnDemandView(valid);
    expect(typeof Date.now()).toBe('number');
    expect(new Date(0).toISOString()).toBe('1970-01-01T00:00:00.000Z');
    expect(new Date()).toBeInstanceOf(Date);
    expect(Math.random()).toBeLessThan(1);
  });

  it('accepts a pure transform that builds a date from its input', () => {
    expect(() =>
      defineOnDemandView({
        ...valid,
        transform: (row) => ({
          basket_to_score: new Date(row.basket_amount).getTime(),
          big_basket: false,
        }),
      }),
    ).not.toThrow();
  });
});

describe('a feature service selecting an on-demand view', () => {
  const spendRatio = defineOnDemandView(valid);

  it('keeps on-demand features apart from stored ones', () => {
    const service = defineFeatureService({
      name: 'checkout',
      features: [profile.select(['plan']), spendRatio.select(['big_basket'])],
    });
    expect(service.features.map((f) => f.outputName)).toEqual(['plan']);
    expect(service.onDemandFeatures?.map((f) => [f.view.name, f.outputName])).toEqual([
      ['spend_ratio', 'big_basket'],
    ]);
  });

  it('refuses two on-demand views asking for one request field with different types', () => {
    const other = defineOnDemandView({
      ...valid,
      name: 'other_ratio',
      request: { basket_amount: 'int32' },
      features: { doubled: 'float64' },
      transform: (row) => ({ doubled: row.basket_amount * 2 }),
    });
    expectRejected(
      () => defineFeatureService({ name: 'checkout', features: [spendRatio, other] }),
      {
        definition: 'feature service "checkout"',
        field: 'features[other_ratio]',
        message: 'is int32 in on-demand view "other_ratio" but float64',
        hint: 'one type',
      },
    );
  });
});
