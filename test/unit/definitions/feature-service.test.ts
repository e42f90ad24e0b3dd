import { describe, expect, it } from 'vitest';
import {
  defineFeatureService,
  defineFeatureView,
  defineSource,
} from '../../../lib/definitions/index.ts';
import { issueAt } from '../../helpers/definition-issues.ts';
import { customer, profiles } from './fixtures.ts';

const profile = defineFeatureView({
  name: 'profile',
  entities: [customer],
  source: profiles,
  features: { age: 'int32', plan: 'string', score: 'float32' },
});
const orders = defineSource({
  name: 'orders',
  schema: { customer_id: 'string', age: 'int32', amount: 'float64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const lastOrder = defineFeatureView({
  name: 'last_order',
  entities: [customer],
  source: orders,
  features: { age: 'int32', amount: 'float64' },
});

describe('defineFeatureService', () => {
  it('accepts selections and whole views, keeping output names and aliases', () => {
    const service = defineFeatureService({
      name: 'model',
      features: [
        profile.select(['age']),
        lastOrder.select([{ feature: 'age', alias: 'order_age' }, 'amount']),
      ],
    });
    expect(service.features.map((f) => [f.view.name, f.feature, f.outputName])).toEqual([
      ['profile', 'age', 'age'],
      ['last_order', 'age', 'order_age'],
      ['last_order', 'amount', 'amount'],
    ]);
    expect(defineFeatureService({ name: 'everything', features: [profile] }).features).toHaveLength(
      3,
    );
  });

  it('rejects selecting a feature the view does not have, naming service, view and feature', () => {
    const issue = issueAt(
      () => defineFeatureService({ name: 'model', features: [profile.select(['age', 'tenure'])] }),
      'features.0.1',
    );
    expect(issue.definition).toBe('feature service "model"');
    expect(issue.message).toBe('view "profile" has no feature "tenure" (it has age, plan, score)');
    expect(issue.hint).toContain('fix the feature name');
  });

  it('rejects two features with the same output name and shows the alias fix', () => {
    const issue = issueAt(
      () =>
        defineFeatureService({
          name: 'model',
          features: [profile.select(['age']), lastOrder.select(['age'])],
        }),
      'features.1.0',
    );
    expect(issue.message).toBe(
      'output name "age" is produced by both profile.age and last_order.age',
    );
    expect(issue.hint).toContain(
      "last_order.select([{ feature: 'age', alias: 'last_order_age' }])",
    );
  });

  it('rejects an alias that is not a valid identifier', () => {
    const issue = issueAt(
      () =>
        defineFeatureService({
          name: 'model',
          features: [profile.select([{ feature: 'age', alias: 'Age' }])],
        }),
      'features.0.0.alias',
    );
    expect(issue.message).toContain('"Age" is not a valid identifier');
  });

  it('rejects an empty service and an empty selection', () => {
    expect(
      issueAt(() => defineFeatureService({ name: 'model', features: [] }), 'features').message,
    ).toBe('needs at least one feature selection');
    expect(
      issueAt(
        () => defineFeatureService({ name: 'model', features: [profile.select([])] }),
        'features.0',
      ).message,
    ).toContain('selects no features');
  });

  it('rejects something that is neither a view nor a selection', () => {
    expect(
      issueAt(
        () => defineFeatureService({ name: 'model', features: ['profile' as never] }),
        'features.0',
      ).message,
    ).toBe('must be a feature view or view.select([...])');
  });
});
