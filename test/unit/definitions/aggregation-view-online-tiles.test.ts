import { describe, expect, it } from 'vitest';
import {
  defineAggregationView,
  defineEntity,
  defineSource,
} from '../../../lib/definitions/index.ts';
import { compileRegistry } from '../../../lib/registry/index.ts';
import { pushRegistryProjection } from '../../../lib/registry/runtime-projection.ts';
import { issueAt } from '../../helpers/definition-issues.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const orders = defineSource({
  name: 'orders',
  schema: { customer_id: 'string', amount: 'float64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const base = {
  name: 'order_stats',
  entities: [customer],
  source: orders,
  aggregations: { amount: { functions: ['sum' as const], windows: ['1d'] } },
};

describe('onlineTiles on an aggregation view (ADR 0020)', () => {
  it('is kept in the registry and in the runtime projections the push and lookup read', () => {
    const view = defineAggregationView({
      ...base,
      online: true,
      onlineTiles: true,
      schedule: 'rate(1 hour)',
    });
    expect(view.onlineTiles).toBe(true);
    const registry = compileRegistry([{ definition: view }]);
    expect(registry.featureViews[0]?.onlineTiles).toBe(true);
    expect(pushRegistryProjection(registry).featureViews[0]?.onlineTiles).toBe(true);
  });

  it('leaves views without it as they were: no onlineTiles field at all', () => {
    const registry = compileRegistry([
      { definition: defineAggregationView({ ...base, online: true, schedule: 'rate(1 hour)' }) },
    ]);
    expect(registry.featureViews[0]).not.toHaveProperty('onlineTiles');
  });

  it('is refused on a view that is not online, naming the field and the fix', () => {
    const issue = issueAt(
      () => defineAggregationView({ ...base, onlineTiles: true }),
      'onlineTiles',
    );
    expect(issue.message).toContain('not online');
    expect(issue.hint).toContain('online: true');
  });
});
