import {
  defineAggregationView,
  defineEntity,
  defineFeatureView,
  defineSource,
} from '../../lib/definitions/index.ts';
import { compileRegistry, type Registry } from '../../lib/registry/index.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const account = defineEntity({
  name: 'account',
  joinKeys: [{ name: 'account_id', type: 'int64' }],
});

/** A source with every kind of column push checks: a string and an int64 key, created times, lists. */
export const paymentsSource = defineSource({
  name: 'payments',
  schema: {
    customer_id: 'string',
    account_id: 'int64',
    amount: 'float64',
    status: 'string',
    flagged: 'bool',
    scores: 'list<float32>',
    event_ts: 'timestamp',
    created_ts: 'timestamp',
  },
  timestampField: 'event_ts',
  createdTimestampField: 'created_ts',
});

const auditSource = defineSource({
  name: 'audit',
  schema: { customer_id: 'string', note: 'string', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});

/**
 * Views over `payments`: `last_payment` (online, amount 0..10000, status in a list), `account_flag`
 * (online, keyed by account_id), `payment_audit` (offline only, status not nullable) and
 * `payment_stats` (online aggregation). `audit` has one offline view, so no online one.
 */
export function pushRegistry(): Registry {
  return compileRegistry([
    {
      definition: defineFeatureView({
        name: 'last_payment',
        entities: [customer],
        source: paymentsSource,
        features: {
          amount: { type: 'float64', min: 0, max: 10_000 },
          status: { type: 'string', allowedValues: ['ok', 'refunded'] },
          scores: 'list<float32>',
        },
        online: true,
        schedule: 'rate(1 hour)',
      }),
    },
    {
      definition: defineFeatureView({
        name: 'account_flag',
        entities: [account],
        source: paymentsSource,
        features: { flagged: 'bool' },
        online: true,
        schedule: 'rate(1 hour)',
      }),
    },
    {
      definition: defineFeatureView({
        name: 'payment_audit',
        entities: [customer],
        source: paymentsSource,
        features: { status: { type: 'string', nullable: false } },
      }),
    },
    {
      definition: defineAggregationView({
        name: 'payment_stats',
        entities: [customer],
        source: paymentsSource,
        aggregations: { amount: { functions: ['sum'], windows: ['7d'] } },
        online: true,
        schedule: 'rate(1 hour)',
      }),
    },
    {
      definition: defineFeatureView({
        name: 'audit_notes',
        entities: [customer],
        source: auditSource,
        features: { note: 'string' },
      }),
    },
  ]);
}

/** A valid `payments` row at `eventTs`; `overrides` replace columns. */
export function paymentRow(
  eventTs: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    customer_id: 'C1',
    account_id: 7,
    amount: 12.5,
    status: 'ok',
    flagged: false,
    scores: [0.5, 1],
    event_ts: eventTs,
    created_ts: eventTs,
    ...overrides,
  };
}
