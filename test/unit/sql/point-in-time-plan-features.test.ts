import { describe, expect, it } from 'vitest';
import {
  defineAggregationView,
  defineEntity,
  defineFeatureView,
  defineSource,
} from '../../../lib/definitions/index.ts';
import { ExpressionError } from '../../../lib/expressions/index.ts';
import { compileRegistry, type Registry } from '../../../lib/registry/index.ts';
import {
  PlanError,
  planPointInTime,
  sourceLookbackSeconds,
} from '../../../lib/sql/point-in-time-plan.ts';

// What the plan says of each feature (its type, the type it is read as, a derived feature's
// expression, the source's row filter) and how far back a source is read: the renderers trust
// these, so a wrong one changes values, not just SQL text.

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const profiles = defineSource({
  name: 'profiles',
  schema: {
    customer_id: 'string',
    plan: 'string',
    age: 'int32',
    monthly: 'float64',
    event_ts: 'timestamp',
  },
  timestampField: 'event_ts',
  filter: "plan <> 'trial'",
});
const orders = defineSource({
  name: 'orders',
  schema: { customer_id: 'string', amount: 'float64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const profile = defineFeatureView({
  name: 'profile',
  entities: [customer],
  source: profiles,
  ttl: '2d',
  features: {
    plan: 'string',
    age: 'float64',
    monthly: 'float64',
    annual: { expr: 'monthly * 12' },
    age_float: { expr: 'age', type: 'float64' },
    unknown: { expr: 'NULL', type: 'int64' },
  },
});
const lastOrder = defineFeatureView({
  name: 'last_order',
  entities: [customer],
  source: orders,
  features: { amount: 'float64' },
});
const recentOrder = defineFeatureView({
  name: 'recent_order',
  entities: [customer],
  source: orders,
  ttl: '1d',
  features: { amount: 'float64' },
});
const orderStats = defineAggregationView({
  name: 'order_stats',
  entities: [customer],
  source: orders,
  aggregations: { amount: { functions: ['sum'], windows: ['1d', '30d', '7d'] } },
});
const registry: Registry = compileRegistry(
  [profile, lastOrder, recentOrder, orderStats].map((definition) => ({ definition })),
);
const byTimestamp = { entityTimestampColumn: 'event_timestamp' };
const day = 86_400;

/** The registry with its views or services edited, as a stale or hand-edited file has them. */
const edited = (change: (copy: Registry) => Partial<Registry>): Registry => {
  const copy = structuredClone(registry) as Registry;
  return { ...copy, ...change(copy) };
};

function planError(planned: Registry, request: Parameters<typeof planPointInTime>[1]) {
  try {
    planPointInTime(planned, request, byTimestamp);
  } catch (error) {
    if (error instanceof PlanError) return error;
    throw error;
  }
  throw new Error('planPointInTime accepted the request');
}

describe('each planned feature', () => {
  const plan = planPointInTime(registry, { features: ['profile:*'] }, byTimestamp);
  const features = plan.views[0]?.features ?? [];

  it('has its own declared type and the type of the column or expression it is read from', () => {
    expect(
      features.map((f) => ({
        feature: f.feature,
        type: f.type,
        sourceType: f.sourceType,
        derived: f.expression !== undefined,
      })),
    ).toEqual([
      { feature: 'plan', type: 'string', sourceType: 'string', derived: false },
      // Widened when read: the column is int32.
      { feature: 'age', type: 'float64', sourceType: 'int32', derived: false },
      { feature: 'monthly', type: 'float64', sourceType: 'float64', derived: false },
      { feature: 'annual', type: 'float64', sourceType: 'float64', derived: true },
      // The expression's own type (int32), not the declared one.
      { feature: 'age_float', type: 'float64', sourceType: 'int32', derived: true },
      // A NULL expression has no type of its own: it is read as the declared type.
      { feature: 'unknown', type: 'int64', sourceType: 'int64', derived: true },
    ]);
    expect(features.find((f) => f.feature === 'annual')?.expression).toMatchObject({
      type: 'float64',
    });
  });

  it('carries the source row filter, checked, on every view of that source, and none elsewhere', () => {
    const both = planPointInTime(
      registry,
      { features: ['profile:plan', 'last_order:amount'] },
      byTimestamp,
    );
    expect(both.views.map((v) => [v.view, v.rowFilter?.type])).toEqual([
      ['profile', 'bool'],
      ['last_order', undefined],
    ]);
    expect('rowFilter' in (both.views[1] ?? {})).toBe(false);
  });

  it('keeps the fixed output names of extra features under full feature names', () => {
    const withExtra = planPointInTime(
      registry,
      { features: ['profile:age'] },
      {
        ...byTimestamp,
        fullFeatureNames: true,
        extraFeatures: [{ view: 'last_order', feature: 'amount', outputName: 'input_amount' }],
      },
    );
    expect(withExtra.outputNames).toEqual(['profile__age', 'input_amount']);
    expect(withExtra.views.map((v) => v.view)).toEqual(['profile', 'last_order']);
  });
});

describe('a registry whose expressions no longer compile', () => {
  it('names the derived feature, says to recompile, and keeps the expression error as the cause', () => {
    const stale = edited((r) => ({
      featureViews: r.featureViews.map((v) =>
        v.name === 'profile'
          ? {
              ...v,
              features: v.features.map((f) =>
                f.name === 'annual' ? { ...f, expr: 'monthlyy * 12' } : f,
              ),
            }
          : v,
      ),
    }));
    const error = planError(stale, { features: ['profile:annual'] });
    expect(error.message).toMatch(/^feature "profile\.annual": .*monthlyy/);
    expect(error.hint).toBe('fix the definition and recompile the registry');
    expect(error.cause).toBeInstanceOf(ExpressionError);
  });

  it('names the source whose row filter no longer compiles', () => {
    const stale = edited((r) => ({
      sources: r.sources.map((s) => (s.name === 'profiles' ? { ...s, filter: "tier <> 'x'" } : s)),
    }));
    const error = planError(stale, { features: ['profile:plan'] });
    expect(error.message).toMatch(/^the row filter of source "profiles": .*tier/);
    expect(error.hint).toBe('fix the definition and recompile the registry');
  });
});

describe('a service naming a feature its view lacks', () => {
  const serviceOf = (view: string, feature: string) =>
    edited(() => ({
      featureServices: [
        {
          name: 'svc',
          features: [{ view, feature, outputName: feature, type: 'float64' }],
        } as unknown as Registry['featureServices'][number],
      ],
    }));

  it('is refused even when the source has a column of that name', () => {
    const error = planError(serviceOf('profile', 'event_ts'), { service: 'svc' });
    expect(error.message).toBe('view "profile" has no feature "event_ts"');
    expect(error.hint).toBe('run `fstore describe profile` to see its features');
  });

  it('is refused with the same plan error for an aggregation view', () => {
    const error = planError(serviceOf('order_stats', 'amount_sum_90d'), { service: 'svc' });
    expect(error.message).toBe('view "order_stats" has no feature "amount_sum_90d"');
  });
});

describe('two views producing one output name', () => {
  it('names both producers and the fix', () => {
    const twice = edited((r) => ({
      featureViews: r.featureViews.map((v) =>
        v.name === 'last_order'
          ? { ...v, features: v.features.map((f) => ({ ...f, name: 'monthly' })) }
          : v,
      ),
      sources: r.sources.map((s) =>
        s.name === 'orders'
          ? {
              ...s,
              schema: s.schema.map((c) => (c.name === 'amount' ? { ...c, name: 'monthly' } : c)),
            }
          : s,
      ),
    }));
    const error = planError(twice, { features: ['profile:monthly', 'last_order:monthly'] });
    expect(error.message).toBe(
      'feature name "monthly" is produced by both profile.monthly and last_order.monthly',
    );
    expect(error.hint).toBe(
      'request full feature names (--full-feature-names) or alias one of them in the feature service',
    );
  });
});

describe('how far before an entity row a source is read', () => {
  const lookback = (features: string[], source: string) =>
    sourceLookbackSeconds(planPointInTime(registry, { features }, byTimestamp), source);

  it('is the widest window of an aggregation view, whatever order the windows come in', () => {
    expect(lookback(['order_stats:*'], 'orders')).toBe(30 * day);
    expect(lookback(['order_stats:amount_sum_1d'], 'orders')).toBe(day);
  });

  it('is the TTL of a plain view, the longest over the views of that source only', () => {
    expect(lookback(['profile:plan'], 'profiles')).toBe(2 * day);
    expect(lookback(['profile:plan', 'order_stats:amount_sum_7d'], 'profiles')).toBe(2 * day);
    expect(lookback(['profile:plan', 'order_stats:amount_sum_7d'], 'orders')).toBe(7 * day);
    // The shorter TTL planned last does not shorten the read.
    expect(
      lookback(['order_stats:amount_sum_7d', 'recent_order:amount', 'profile:plan'], 'orders'),
    ).toBe(7 * day);
  });

  it('is unbounded (undefined) when a view of the source has no TTL', () => {
    expect(lookback(['order_stats:amount_sum_1d', 'last_order:amount'], 'orders')).toBeUndefined();
    expect(lookback(['last_order:amount'], 'profiles')).toBe(0);
  });
});
