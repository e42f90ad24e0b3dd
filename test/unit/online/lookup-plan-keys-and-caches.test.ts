import { describe, expect, it } from 'vitest';
import {
  defineAggregationView,
  defineEntity,
  defineFeatureView,
  defineSource,
} from '../../../lib/definitions/index.ts';
import { encodeEntityKey, partitionKey } from '../../../lib/online/entity-key.ts';
import { planLookup, projectionFor } from '../../../lib/online/lookup-plan.ts';
import { featureResults } from '../../../lib/online/online-lookup.ts';
import { compileRegistry } from '../../../lib/registry/index.ts';
import { fetchedLookupOf } from '../../helpers/fetched-lookup.ts';

// Each test compiles its own registry: the plans and projections are kept per registry and per
// view, and a registry shared between tests would answer from what an earlier test planned.

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const driver = defineEntity({
  name: 'driver',
  joinKeys: [{ name: 'driver_id', type: 'int64' }],
});
const orders = defineSource({
  name: 'orders',
  schema: {
    customer_id: 'string',
    driver_id: 'int64',
    amount: 'float64',
    coupon: 'string',
    event_ts: 'timestamp',
  },
  timestampField: 'event_ts',
});

function passthrough(
  name: string,
  entity = customer,
  features: Record<string, 'float64' | 'string'> = { amount: 'float64' },
) {
  return {
    definition: defineFeatureView({
      name,
      entities: [entity],
      source: orders,
      features,
      online: true,
      schedule: 'rate(1 hour)',
    }),
  };
}

describe('lookup plan: what an entity with no item gets', () => {
  // The first function of a column is listed first in the view, so a plan that took any
  // aggregation's function for every feature would give sum's NULL to the counts.
  const stats = () =>
    compileRegistry([
      {
        definition: defineAggregationView({
          name: 'order_stats',
          entities: [customer],
          source: orders,
          aggregations: {
            amount: { functions: ['sum', 'count'], windows: ['7d'] },
            coupon: { functions: ['count_distinct'], windows: ['7d'] },
          },
        }),
      },
    ]);

  it('gives count and count_distinct 0 and sum NULL, each by its own function', () => {
    const registry = stats();
    const request = {
      views: [
        {
          view: 'order_stats',
          features: [
            { feature: 'amount_sum_7d', outputName: 'sum' },
            { feature: 'amount_count_7d', outputName: 'count' },
            { feature: 'coupon_count_distinct_7d', outputName: 'coupons' },
          ],
        },
      ],
      entities: [{ customer_id: 'C1' }],
    };
    const [result] = featureResults(fetchedLookupOf(registry, request, () => undefined));
    expect(result).toEqual({
      sum: { value: null, status: 'NOT_FOUND', event_timestamp: null },
      count: { value: 0, status: 'NOT_FOUND', event_timestamp: null },
      coupons: { value: 0, status: 'NOT_FOUND', event_timestamp: null },
    });
  });

  it('gives a passthrough feature NULL, not 0', () => {
    const registry = compileRegistry([passthrough('last_order')]);
    const request = {
      views: [{ view: 'last_order', features: [{ feature: 'amount', outputName: 'amount' }] }],
      entities: [{ customer_id: 'C1' }],
    };
    const [result] = featureResults(fetchedLookupOf(registry, request, () => undefined));
    expect(result?.amount).toEqual({ value: null, status: 'NOT_FOUND', event_timestamp: null });
  });
});

describe('lookup plan: item keys of views with different join keys', () => {
  it("keys each view's item with its own join keys, in one request", () => {
    const registry = compileRegistry([
      passthrough('by_customer'),
      passthrough('by_driver', driver),
      passthrough('by_customer_too'),
    ]);
    const views = ['by_customer', 'by_driver', 'by_customer_too'].map((view) => ({
      view,
      features: [{ feature: 'amount', outputName: view }],
    }));
    const entities = [
      { customer_id: 'C1', driver_id: 7 },
      { customer_id: 'C2', driver_id: 8 },
    ];
    const planned = planLookup(registry, { views, entities });
    const expected = entities.flatMap((entity) =>
      views.map(({ view }) => {
        const def = registry.featureViews.find((v) => v.name === view);
        if (!def) throw new Error(`view ${view} missing`);
        return partitionKey(def.onlineStore.keyPrefix, encodeEntityKey(def.joinKeys, entity));
      }),
    );
    expect(planned.keys).toEqual(expected);
    // The driver view's key holds the driver's id, not the customer's.
    expect(planned.keys[1]).toContain('7');
    expect(planned.keys[1]).not.toContain('C1');
  });
});

describe('lookup plan: projections kept per registry', () => {
  it("projects exactly the requested views' features, for each distinct view list", () => {
    // Names chosen so that the lists p,qr and pq,r would share an id joined without a separator;
    // qr alone has a second feature, so the two lists' projections differ.
    const registry = compileRegistry([
      passthrough('p'),
      passthrough('qr', customer, { amount: 'float64', coupon: 'string' }),
      passthrough('pq'),
      passthrough('r'),
    ]);
    const viewsOf = (names: string[]) =>
      names.map((view) => ({ view, features: [{ feature: 'amount', outputName: view }] }));
    const byName = (name: string) => registry.featureViews.find((v) => v.name === name);
    for (const names of [['p', 'qr'], ['pq', 'r'], ['p'], ['r']]) {
      const planned = planLookup(registry, { views: viewsOf(names), entities: [] });
      expect(planned.projection).toEqual(
        projectionFor(names.map((name) => byName(name) ?? expect.fail(`view ${name} missing`))),
      );
      expect(planned.views.map((v) => v.plan.view.name)).toEqual(names);
    }
  });

  it('projects the features of the views asked for, not those of an earlier request', () => {
    const registry = compileRegistry([
      passthrough('coupons', customer, { coupon: 'string' }),
      passthrough('amounts'),
    ]);
    const plan = (view: string, feature: string) =>
      planLookup(registry, {
        views: [{ view, features: [{ feature, outputName: feature }] }],
        entities: [{ customer_id: 'C1' }],
      });
    expect(
      Object.values(plan('coupons', 'coupon').projection.ExpressionAttributeNames ?? {}),
    ).toContain('coupon');
    const second = Object.values(
      plan('amounts', 'amount').projection.ExpressionAttributeNames ?? {},
    );
    expect(second).toContain('amount');
    expect(second).not.toContain('coupon');
  });

  it('keeps the projections of at most 1,000 distinct view lists, then starts again', () => {
    const registry = compileRegistry([passthrough('p'), passthrough('q')]);
    // Ten views a request, each p or q: 1,024 distinct lists of the same length.
    const request = (n: number) => ({
      views: Array.from({ length: 10 }, (_, bit) => ({
        view: (n >> bit) & 1 ? 'q' : 'p',
        features: [{ feature: 'amount', outputName: `o${bit}` }],
      })),
      entities: [],
    });
    const first = planLookup(registry, request(0)).projection;
    for (let n = 1; n < 1000; n++) planLookup(registry, request(n));
    // 1,000 lists kept: the first one's projection is served again, the same frozen object.
    expect(planLookup(registry, request(0)).projection).toBe(first);
    planLookup(registry, request(1000));
    // The 1,001st list emptied the cache before it was kept: the first is worked out anew.
    const again = planLookup(registry, request(0)).projection;
    expect(again).not.toBe(first);
    expect(again).toEqual(first);
  });
});
