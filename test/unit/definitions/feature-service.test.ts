import { describe, expect, it } from 'vitest';
import {
  defineEntity,
  defineFeatureService,
  defineFeatureView,
  defineSource,
  type FeatureServiceInput,
} from '../../../lib/definitions/index.ts';
import { issuesOf } from '../../helpers/definition-issues.ts';
import { customer, expectRejected, profiles } from './fixtures.ts';

const profile = defineFeatureView({
  name: 'profile',
  entities: [customer],
  source: profiles,
  features: { age: 'int32', plan: 'string', score: 'float32' },
});
const orders = defineSource({
  name: 'orders',
  schema: {
    order_id: 'string',
    customer_id: 'string',
    age: 'int32',
    amount: 'float64',
    event_ts: 'timestamp',
  },
  timestampField: 'event_ts',
});
const lastOrder = defineFeatureView({
  name: 'last_order',
  entities: [customer],
  source: orders,
  features: { age: 'int32', amount: 'float64', order_id: 'string' },
});
const order = defineEntity({
  name: 'order_entity',
  joinKeys: [{ name: 'order_id', type: 'string' }],
});
const orderAmount = defineFeatureView({
  name: 'order_amount',
  entities: [order],
  source: orders,
  features: { amount: 'float64' },
});

const service =
  (features: FeatureServiceInput['features'], extra = {}) =>
  () =>
    defineFeatureService({ name: 'model', features, ...extra });
const label = 'feature service "model"';

describe('defineFeatureService', () => {
  it('accepts selections, keeping order, output names and aliases', () => {
    const model = service([
      profile.select(['age']),
      lastOrder.select([{ feature: 'age', alias: 'order_age' }, 'amount']),
    ])();
    expect(model.features.map((f) => ({ ...f, view: f.view.name }))).toEqual([
      { view: 'profile', feature: 'age', outputName: 'age' },
      { view: 'last_order', feature: 'age', outputName: 'order_age', alias: 'order_age' },
      { view: 'last_order', feature: 'amount', outputName: 'amount' },
    ]);
    expect(model.features[0]?.view).toBe(profile);
    expect(model.status).toBe('active');
    expect(model.kind).toBe('featureService');
  });

  it('accepts a whole view, meaning all its features in declaration order', () => {
    const model = service([profile])();
    expect(model.features.map((f) => f.outputName)).toEqual(['age', 'plan', 'score']);
    expect(model.features.map((f) => f.feature)).toEqual(
      service([profile.select()])().features.map((f) => f.feature),
    );
  });

  it.each(['draft', 'active', 'deprecated'] as const)('accepts the status %s', (status) => {
    expect(service([profile], { status })().status).toBe(status);
  });

  it('rejects an unknown status', () => {
    expectRejected(service([profile], { status: 'live' }), {
      definition: label,
      field: 'status',
      message: '"live" is not a lifecycle status',
      hint: 'use one of draft, active, deprecated',
    });
  });

  it('rejects selecting a feature the view does not have, naming service, view and feature', () => {
    expectRejected(service([profile.select(['age', 'tenure'])]), {
      definition: label,
      field: 'features[profile].tenure',
      message: 'view "profile" has no feature "tenure" (it has age, plan, score)',
      hint: 'fix the feature name or add the feature to the view',
    });
  });

  it('rejects an alias that is not a valid identifier', () => {
    expectRejected(service([profile.select([{ feature: 'age', alias: 'Age' }])]), {
      definition: label,
      field: 'features[profile].age.alias',
      message: '"Age" is not a valid identifier',
      hint: 'rename it, for example "age"',
    });
  });

  it('rejects an alias that is a reserved word or an fstore column name', () => {
    expectRejected(service([profile.select([{ feature: 'age', alias: 'order' }])]), {
      definition: label,
      field: 'features[profile].age.alias',
      message: '"order" is a reserved word in Athena/Trino',
      hint: 'choose another name',
    });
    expectRejected(service([profile.select([{ feature: 'age', alias: 'dt' }])]), {
      definition: label,
      field: 'features[profile].age.alias',
      message: '"dt" is reserved by fstore for its own columns',
      hint: 'for example "dt_value"',
    });
  });

  it('rejects two features with the same output name and suggests an alias', () => {
    const issue = expectRejected(service([profile.select(['age']), lastOrder.select(['age'])]), {
      definition: label,
      field: 'features[last_order].age',
      message: 'output name "age" is produced by both profile.age and last_order.age',
      hint: "alias one of them, e.g. last_order.select([{ feature: 'age', alias: 'last_order_age' }])",
    });
    expect(issue.message).not.toContain('join key');
  });

  it('accepts the suggested alias as the fix for an output-name collision', () => {
    const model = service([
      profile.select(['age']),
      lastOrder.select([{ feature: 'age', alias: 'last_order_age' }]),
    ])();
    expect(model.features.map((f) => f.outputName)).toEqual(['age', 'last_order_age']);
  });

  it('rejects an alias that collides with another feature name', () => {
    expectRejected(
      service([profile.select(['plan']), lastOrder.select([{ feature: 'amount', alias: 'plan' }])]),
      {
        definition: label,
        field: 'features[last_order].amount',
        message: 'output name "plan" is produced by both profile.plan and last_order.amount',
        hint: 'alias one of them',
      },
    );
  });

  it('rejects collisions between two whole views', () => {
    const issues = issuesOf(service([profile, lastOrder.select(['age', 'amount'])]));
    expect(issues.map((i) => [i.field, i.message])).toEqual([
      [
        'features[last_order].age',
        'output name "age" is produced by both profile.age and last_order.age',
      ],
    ]);
  });

  it('rejects an output name that is a join key of a view in the service, and accepts it aliased', () => {
    expectRejected(service([orderAmount, lastOrder.select(['order_id'])]), {
      definition: label,
      field: 'features[last_order].order_id',
      message:
        'output name "order_id" of last_order.order_id is also a join key of view order_amount (order_entity)',
      hint: "alias it, e.g. last_order.select([{ feature: 'order_id', alias: 'last_order_order_id' }])",
    });
    expectRejected(service([profile.select([{ feature: 'plan', alias: 'customer_id' }])]), {
      definition: label,
      field: 'features[profile].plan',
      message: 'output name "customer_id" of profile.plan is also a join key of view profile',
      hint: 'alias it',
    });
    expect(
      service([
        orderAmount,
        lastOrder.select([{ feature: 'order_id', alias: 'last_order_id' }]),
      ])().features.map((f) => f.outputName),
    ).toEqual(['amount', 'last_order_id']);
  });

  it('rejects a service without features and an empty selection', () => {
    expectRejected(service([]), {
      definition: label,
      field: 'features',
      message: 'needs at least one feature selection',
      hint: 'list at least 1',
    });
    expectRejected(service([profile.select([])]), {
      definition: label,
      field: 'features[profile]',
      message: 'selects no features of view "profile"',
      hint: 'name at least one feature, or pass the view to select all',
    });
  });

  it('rejects something that is neither a view nor a selection', () => {
    expect(issuesOf(service(['profile' as never]))).toEqual([
      {
        definition: label,
        field: 'features[profile]',
        message: 'must be a feature view, an on-demand view or view.select([...])',
      },
    ]);
  });

  it('reports every problem of a service at once', () => {
    const issues = issuesOf(
      service([
        profile.select(['tenure', { feature: 'age', alias: 'Bad' }]),
        lastOrder.select(['amount', 'amount']),
      ]),
    );
    expect(issues.map((i) => i.field)).toEqual([
      'features[profile].tenure',
      'features[profile].age.alias',
      'features[last_order].amount',
    ]);
  });
});
