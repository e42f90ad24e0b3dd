import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ValueType } from '../../../lib/definitions/index.ts';
import { compileRegistry, loadDefinitions, type Registry } from '../../../lib/registry/index.ts';
import { athenaDialect } from '../../../lib/sql/athena-dialect.ts';
import { checkAthenaQuerySize } from '../../../lib/sql/athena-query-size.ts';
import { partitionDay, timestampText } from '../../../lib/sql/dialect.ts';
import { duckdbDialect } from '../../../lib/sql/duckdb-dialect.ts';
import { PlanError, planPointInTime } from '../../../lib/sql/point-in-time-plan.ts';
import {
  renderAggregationJoin,
  renderAggregationView,
} from '../../../lib/sql/render-aggregation.ts';
import { renderPointInTimeAsof } from '../../../lib/sql/render-point-in-time-asof.ts';
import { repoRoot } from '../../helpers/run-fstore.ts';

const examples: Registry = compileRegistry(
  await loadDefinitions(path.join(repoRoot, 'feature-defs')),
);
const duckdb = duckdbDialect('/data/offline');
const athena = athenaDialect('fstore_dev');
const byTimestamp = { entityTimestampColumn: 'event_timestamp' };

/** The error `plan` throws, for checking its message and hint together. */
const planError = (
  registry: Registry,
  request: Parameters<typeof planPointInTime>[1],
  options = byTimestamp,
) => {
  try {
    planPointInTime(registry, request, options);
  } catch (error) {
    if (error instanceof PlanError) return { message: error.message, hint: error.hint };
    throw error;
  }
  throw new Error('planPointInTime accepted the request');
};

describe('column types in each dialect', () => {
  it('maps a list type element by element', () => {
    expect(duckdb.sqlType('list<int64>' as ValueType)).toBe('BIGINT[]');
    expect(athena.sqlType('list<float32>' as ValueType)).toBe('ARRAY(REAL)');
  });

  it('refuses a type the dialect has no column type for, naming it', () => {
    expect(() => duckdb.sqlType('decimal' as ValueType)).toThrow('no DuckDB type for decimal');
    expect(() => athena.sqlType('list<uuid>' as ValueType)).toThrow('no Athena type for uuid');
  });
});

describe('timestamps in SQL text', () => {
  it('keeps microseconds and writes UTC', () => {
    expect(timestampText('2026-01-31T13:00:00.000300+01:00')).toBe('2026-01-31 12:00:00.000300');
  });

  it('refuses text that is not an instant, naming it', () => {
    expect(() => timestampText('yesterday')).toThrow('not a timestamp: yesterday');
  });

  it('gives the UTC day of an ISO instant and of epoch microseconds alike', () => {
    expect(partitionDay('2026-03-01T23:30:00-01:00')).toBe('2026-03-02');
    expect(partitionDay(1_772_409_600_000_000n)).toBe('2026-03-02');
  });
});

describe('renderers that run on one engine only', () => {
  it('refuses to write an ASOF JOIN for Athena, which has none', () => {
    const plan = planPointInTime(examples, { service: 'churn_v1' }, byTimestamp);
    expect(() =>
      renderPointInTimeAsof(plan, athena, { entityRelation: 'e', entityColumns: [] }),
    ).toThrow('ASOF JOIN rendering is DuckDB only');
  });

  it('refuses to aggregate a view that has no aggregations, naming it', () => {
    const plan = planPointInTime(examples, { features: ['last_order:amount'] }, byTimestamp);
    const view = plan.views[0];
    if (!view) throw new Error('no view planned');
    const options = { entityRelation: 'e', entityTimestampColumn: 'event_timestamp' };
    for (const render of [renderAggregationView, renderAggregationJoin])
      expect(() => render(view, duckdb, options)).toThrow('view last_order has no aggregations');
  });
});

describe('a query too long for Athena', () => {
  it('fails with an error named AthenaQueryTooLongError, a name that survives minified bundles', () => {
    const tooLong = `SELECT '${'x'.repeat(262_144)}'`;
    expect(() => checkAthenaQuerySize(tooLong, 'the query')).toThrow(
      expect.objectContaining({ name: 'AthenaQueryTooLongError' }),
    );
  });
});

describe('a feature request that cannot be planned says what to write instead', () => {
  it.each([
    [
      { features: [] },
      'no features requested',
      'name a feature service or features as view:feature',
    ],
    [
      { features: ['a:b:c'] },
      '"a:b:c" is not a feature reference',
      'write view:feature, or view:* for all features of a view',
    ],
    [
      { features: ['last_order:amout'] },
      'view "last_order" has no feature "amout"; did you mean "amount"?',
      'it has amount, category',
    ],
    [
      { features: ['last_ordr:amount'] },
      'no feature view "last_ordr"; did you mean "last_order"?',
      'known views: customer_contract, customer_profile, last_order, order_stats',
    ],
  ])('%j', (request, message, hint) => {
    expect(planError(examples, request)).toEqual({ message, hint });
  });

  it('a feature named like the entity timestamp column', () => {
    expect(
      planError(
        examples,
        { features: ['customer_profile:plan'] },
        { entityTimestampColumn: 'plan' },
      ),
    ).toEqual({
      message: 'feature name "plan" collides with the entity timestamp column',
      hint: 'request full feature names (--full-feature-names)',
    });
  });
});

/** The example registry with one part replaced, as an older or hand-edited registry file has it. */
const edited = (change: (registry: Registry) => Partial<Registry>): Registry => {
  const copy = structuredClone(examples) as Registry;
  return { ...copy, ...change(copy) };
};

describe('planning against a registry that contradicts itself', () => {
  it('names the view and the feature when a service asks a view for a feature it lacks', () => {
    const registry = edited((r) => ({
      featureServices: r.featureServices.map((s) =>
        s.name === 'churn_v1'
          ? {
              ...s,
              features: [
                { view: 'last_order', feature: 'discount', outputName: 'd', type: 'float64' },
              ],
            }
          : s,
      ),
    }));
    expect(planError(registry, { service: 'churn_v1' })).toEqual({
      message: 'view "last_order" has no feature "discount"',
      hint: 'run `fstore describe last_order` to see its features',
    });
  });

  it('names the view and the source when the source is missing', () => {
    const registry = edited((r) => ({ sources: r.sources.filter((s) => s.name !== 'orders') }));
    expect(planError(registry, { features: ['order_stats:amount_sum_7d'] })).toEqual({
      message: 'view "order_stats" reads source "orders", which is not in the registry',
      hint: 'recompile the registry',
    });
  });

  it.each([
    ['a plain feature', (r: Registry) => r.featureViews],
    [
      'a derived feature',
      (r: Registry) =>
        r.featureViews.map((v) =>
          v.name === 'last_order'
            ? { ...v, features: v.features.map((f) => ({ ...f, expr: `${f.name}` })) }
            : v,
        ),
    ],
  ])('names the view and the missing source, not the feature, for %s', (_, views) => {
    const registry = edited((r) => ({
      featureViews: views(r),
      sources: r.sources.filter((s) => s.name !== 'orders'),
    }));
    expect(planError(registry, { features: ['last_order:amount'] })).toEqual({
      message: 'view "last_order" reads source "orders", which is not in the registry',
      hint: 'recompile the registry',
    });
  });

  it('names the aggregation feature whose definition is missing', () => {
    const registry = edited((r) => ({
      featureViews: r.featureViews.map((v) =>
        v.name === 'order_stats'
          ? { ...v, aggregations: v.aggregations?.filter((a) => a.feature !== 'amount_sum_7d') }
          : v,
      ),
    }));
    expect(planError(registry, { features: ['order_stats:amount_sum_7d'] })).toEqual({
      message: 'aggregation feature "order_stats.amount_sum_7d" has no definition in the registry',
      hint: 'recompile the registry',
    });
  });

  it('says "none" when asked for a service of a registry that has none', () => {
    const registry = edited(() => ({ featureServices: [] }));
    expect(planError(registry, { service: 'churn_v1' })).toEqual({
      message: 'no feature service "churn_v1"',
      hint: 'known services: none',
    });
    expect(planError(examples, { service: 'churn_v9' }).hint).toBe(
      'known services: churn_online, churn_v1',
    );
  });
});
