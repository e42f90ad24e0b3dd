import { defineAggregationView, defineEntity, defineSource } from '../lib/definitions/index.ts';
import { runningTotalsView } from '../lib/offline/running-totals.ts';
import { compileRegistry } from '../lib/registry/index.ts';
import type { PlannedView } from '../lib/sql/point-in-time-plan.ts';

/** bench:agg's view as running totals plan it: sum, count and avg of amount over 7, 30, 90 d. */
export function benchView(): PlannedView {
  const customer = defineEntity({
    name: 'customer',
    joinKeys: [{ name: 'customer_id', type: 'string' }],
  });
  const orders = defineSource({
    name: 'orders',
    schema: { customer_id: 'string', amount: 'float64', event_ts: 'timestamp' },
    timestampField: 'event_ts',
  });
  const view = defineAggregationView({
    name: 'order_stats',
    entities: [customer],
    source: orders,
    aggregations: { amount: { functions: ['sum', 'count', 'avg'], windows: ['7d', '30d', '90d'] } },
  });
  const planned = runningTotalsView(compileRegistry([{ definition: view }]), 'order_stats');
  if (!planned) throw new Error('the bench view has no running totals');
  return planned;
}
