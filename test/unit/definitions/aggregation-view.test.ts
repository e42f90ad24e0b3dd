import { describe, expect, it } from 'vitest';
import {
  defineAggregationView,
  defineEntity,
  defineFeatureService,
  defineSource,
} from '../../../lib/definitions/index.ts';
import { compileRegistry } from '../../../lib/registry/index.ts';
import { issueAt } from '../../helpers/definition-issues.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const orders = defineSource({
  name: 'orders',
  schema: {
    customer_id: 'string',
    amount: 'float64',
    items: 'int32',
    category: 'string',
    tags: 'list<string>',
    event_ts: 'timestamp',
  },
  timestampField: 'event_ts',
});
const base = { name: 'order_stats', entities: [customer], source: orders };

describe('defineAggregationView', () => {
  it('derives one feature per column, function and window, named <column>_<function>_<window>, with result types', () => {
    const view = defineAggregationView({
      ...base,
      aggregations: {
        amount: { functions: ['sum', 'avg'], windows: ['7d', '30d'] },
        items: { functions: ['sum', 'max'], windows: ['1h'] },
        category: { functions: ['count', 'count_distinct', 'last'], windows: ['90d'] },
        tags: { functions: ['count', 'days_since_last'], windows: ['2w'] },
      },
    });
    expect(view.transform).toBe('aggregation');
    expect(view.features.map((f) => [f.name, f.type, f.nullable])).toEqual([
      ['amount_sum_7d', 'float64', true],
      ['amount_sum_30d', 'float64', true],
      ['amount_avg_7d', 'float64', true],
      ['amount_avg_30d', 'float64', true],
      ['items_sum_1h', 'int64', true],
      ['items_max_1h', 'int32', true],
      ['category_count_90d', 'int64', false],
      ['category_count_distinct_90d', 'int64', false],
      ['category_last_90d', 'string', true],
      ['tags_count_2w', 'int64', false],
      ['tags_days_since_last_2w', 'float64', true],
    ]);
    expect(view.aggregations?.[0]).toEqual({
      feature: 'amount_sum_7d',
      column: 'amount',
      function: 'sum',
      window: '7d',
      windowSeconds: 604_800,
    });
  });

  it('is selectable in feature services and compiles into the registry with its aggregations', () => {
    const view = defineAggregationView({
      ...base,
      aggregations: { amount: { functions: ['sum'], windows: ['30d'] } },
      online: true,
      schedule: 'rate(1 hour)',
    });
    const service = defineFeatureService({
      name: 'svc',
      features: [view.select([{ feature: 'amount_sum_30d', alias: 'spend_30d' }])],
    });
    const registry = compileRegistry([service].map((definition) => ({ definition })));
    expect(registry.featureViews[0]).toMatchObject({
      transform: 'aggregation',
      aggregations: [
        { feature: 'amount_sum_30d', column: 'amount', function: 'sum', windowSeconds: 2_592_000 },
      ],
    });
    expect(registry.featureServices[0]?.features[0]).toMatchObject({
      outputName: 'spend_30d',
      type: 'float64',
    });
  });

  it('changes the view version when a window or function changes', () => {
    const version = (windows: string[]) =>
      compileRegistry([
        {
          definition: defineAggregationView({
            ...base,
            aggregations: { amount: { functions: ['sum'], windows } },
          }),
        },
      ]).featureViews[0]?.version;
    expect(version(['7d'])).not.toBe(version(['30d']));
  });

  it('rejects sum and avg of a string column, naming the function', () => {
    const issue = issueAt(
      () =>
        defineAggregationView({
          ...base,
          aggregations: { category: { functions: ['count', 'sum'], windows: ['7d'] } },
        }),
      'aggregations.category.functions[sum]',
    );
    expect(issue.message).toBe('sum does not apply to string column "category"');
    expect(issue.hint).toContain('numeric');
  });

  it('rejects min of a list column', () => {
    expect(
      issueAt(
        () =>
          defineAggregationView({
            ...base,
            aggregations: { tags: { functions: ['min'], windows: ['7d'] } },
          }),
        'aggregations.tags.functions[min]',
      ).message,
    ).toBe('min does not apply to list<string> column "tags"');
  });

  it('rejects unknown functions, bad windows, repeated windows and unknown columns', () => {
    expect(
      issueAt(
        () =>
          defineAggregationView({
            ...base,
            aggregations: { amount: { functions: ['median' as never], windows: ['7d'] } },
          }),
        'aggregations.amount.functions[median]',
      ).message,
    ).toContain('"median" is not an aggregation function');
    expect(
      issueAt(
        () =>
          defineAggregationView({
            ...base,
            aggregations: { amount: { functions: ['sum'], windows: ['7 days'] } },
          }),
        'aggregations.amount.windows["7 days"]',
      ).message,
    ).toBe('"7 days" is not a window');
    expect(
      issueAt(
        () =>
          defineAggregationView({
            ...base,
            aggregations: { amount: { functions: ['sum'], windows: ['7d', '1w'] } },
          }),
        'aggregations.amount.windows',
      ).message,
    ).toBe('lists a window more than once');
    expect(
      issueAt(
        () =>
          defineAggregationView({
            ...base,
            aggregations: { price: { functions: ['sum'], windows: ['7d'] } },
          }),
        'aggregations.price',
      ).message,
    ).toContain('"price" is not a column of source "orders"');
  });

  it('rejects a repeated function and an aggregation of the join key', () => {
    expect(
      issueAt(
        () =>
          defineAggregationView({
            ...base,
            aggregations: { amount: { functions: ['sum', 'sum'], windows: ['7d'] } },
          }),
        'aggregations.amount.functions[sum]',
      ).message,
    ).toBe('makes feature "amount_sum_7d" twice');
    expect(
      issueAt(
        () =>
          defineAggregationView({
            ...base,
            aggregations: { customer_id: { functions: ['count'], windows: ['7d'] } },
          }),
        'aggregations.customer_id',
      ).message,
    ).toContain('is a join key');
  });

  it('needs a schedule when online, like any view', () => {
    expect(
      issueAt(
        () =>
          defineAggregationView({
            ...base,
            aggregations: { amount: { functions: ['sum'], windows: ['7d'] } },
            online: true,
          }),
        'schedule',
      ).message,
    ).toContain('is required when online is true');
  });
});
