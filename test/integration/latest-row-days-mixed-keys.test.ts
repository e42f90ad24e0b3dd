import { beforeAll, expect, it } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../lib/definitions/index.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const product = defineEntity({
  name: 'product',
  joinKeys: [{ name: 'product_id', type: 'string' }],
});
const orders = defineSource({
  name: 'orders',
  schema: { customer_id: 'string', product_id: 'string', amount: 'int64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const byCustomer = defineFeatureView({
  name: 'by_customer',
  entities: [customer],
  source: orders,
  features: { amount: 'int64' },
});
const byPair = defineFeatureView({
  name: 'by_pair',
  entities: [customer, product],
  source: orders,
  features: { amount: 'int64' },
});

let fixture: Awaited<ReturnType<typeof offlineFixture>>;
beforeAll(async () => {
  fixture = await offlineFixture([byCustomer, byPair]);
  // Each its own ingest and day file: (A, P1) on day 1, (A, P2) on day 5.
  await fixture.ingest('orders', [
    { customer_id: 'A', product_id: 'P1', amount: 1, event_ts: '2026-03-01T10:00:00Z' },
  ]);
  await fixture.ingest('orders', [
    { customer_id: 'A', product_id: 'P2', amount: 5, event_ts: '2026-03-05T10:00:00Z' },
  ]);
});

it('a small request over two views of one source with different join keys gives each view its own latest row (the shared key’s latest day is not the pair’s)', async () => {
  const run = await fixture.trainingSet(
    [{ customer_id: 'A', product_id: 'P1', event_timestamp: '2026-03-10T12:00:00Z' }],
    { request: { features: ['by_customer:amount', 'by_pair:amount'] }, fullFeatureNames: true },
  );
  expect(run.records?.[0]).toMatchObject({ by_customer__amount: 5, by_pair__amount: 1 });
});
