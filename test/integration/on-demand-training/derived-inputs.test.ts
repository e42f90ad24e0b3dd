import { describe, expect, it } from 'vitest';
import {
  defineEntity,
  defineFeatureService,
  defineFeatureView,
  defineOnDemandView,
  defineSource,
} from '../../../lib/definitions/index.ts';
import { offlineFixture } from '../../helpers/offline-fixture.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'int64' }],
});
const subscriptions = defineSource({
  name: 'subscriptions',
  schema: { customer_id: 'int64', monthly: 'float64', plan: 'string', event_ts: 'timestamp' },
  timestampField: 'event_ts',
  filter: "plan <> 'trial'",
});
const billing = defineFeatureView({
  name: 'billing',
  entities: [customer],
  source: subscriptions,
  features: {
    annual: { expr: 'monthly * 12' },
    premium: { expr: "lower(plan) = 'premium'" },
  },
  ttl: '30d',
});
const offer = defineOnDemandView({
  name: 'offer',
  request: { discount: 'float64' },
  inputs: [billing.select(['annual', 'premium'])],
  features: { price: 'float64', premium_seen: 'bool' },
  transform: (row) => ({
    price: row.annual === null ? null : row.annual - row.discount,
    premium_seen: row.premium,
  }),
});
const service = defineFeatureService({ name: 'offers', features: [offer] });

describe('derived (expr) features and a filtered source as on-demand inputs', () => {
  it.each(['asof', 'merge-window'] as const)(
    'give the transform the expression values as of each row, with an int64 join key (%s)',
    async (strategy) => {
      const fixture = await offlineFixture(
        [customer, subscriptions, billing, offer, service],
        strategy,
      );
      await fixture.ingest('subscriptions', [
        { customer_id: 1, monthly: 10, plan: 'Premium', event_ts: '2026-03-01T00:00:00Z' },
        { customer_id: 1, monthly: 99, plan: 'trial', event_ts: '2026-03-05T00:00:00Z' },
        { customer_id: 2, monthly: 5, plan: 'basic', event_ts: '2026-03-01T00:00:00Z' },
      ]);
      const result = await fixture.trainingSet(
        [
          { customer_id: 1, event_timestamp: '2026-03-10T00:00:00Z', discount: 20 },
          { customer_id: 2, event_timestamp: '2026-03-10T00:00:00Z', discount: 1 },
          { customer_id: 3, event_timestamp: '2026-03-10T00:00:00Z', discount: 1 },
        ],
        { request: { service: 'offers' } },
      );
      expect(result.records?.map((r) => [r.customer_id, r.price, r.premium_seen])).toEqual([
        [1, 100, true],
        [2, 59, false],
        [3, null, null],
      ]);
    },
    120_000,
  );
});
