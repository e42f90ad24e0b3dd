import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../lib/definitions/index.ts';
import { startDynalite } from '../../lib/local/dynalite-server.ts';
import { materializeLocal } from '../../lib/local/materialize-local.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { localOfflineValues, verifyOnline } from '../../lib/quality/verify-online.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const subscriptions = defineSource({
  name: 'subscriptions',
  schema: {
    customer_id: 'string',
    monthly_charges: 'float64',
    plan: 'string',
    age: 'int32',
    event_ts: 'timestamp',
  },
  timestampField: 'event_ts',
  filter: "plan <> 'trial'",
});
const billing = defineFeatureView({
  name: 'billing',
  entities: [customer],
  source: subscriptions,
  features: {
    annual_charges: { expr: 'monthly_charges * 12' },
    premium: { expr: "lower(plan) = 'premium'" },
    age_band: { expr: "CASE WHEN age >= 65 THEN 'senior' WHEN age >= 18 THEN 'adult' END" },
    age_float: { expr: 'age', type: 'float64' },
    plan: 'string',
  },
  ttl: '30d',
  online: true,
  schedule: 'rate(1 hour)',
});

const day = 86_400_000;
const m = Date.parse('2026-03-10T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

const rows = [
  {
    customer_id: 'C1',
    monthly_charges: 10.25,
    plan: 'Premium',
    age: 70,
    event_ts: iso(m - 5 * day),
  },
  // Newer, but a trial row: the source's filter drops it from every read.
  { customer_id: 'C1', monthly_charges: 99, plan: 'trial', age: 70, event_ts: iso(m - 2 * day) },
  { customer_id: 'C2', monthly_charges: 5.5, plan: 'basic', age: 17, event_ts: iso(m - 3 * day) },
  // Only trial rows: the entity has no row at all.
  { customer_id: 'C3', monthly_charges: 1, plan: 'trial', age: 30, event_ts: iso(m - 1 * day) },
];

const expected = {
  C1: {
    annual_charges: 123,
    premium: true,
    age_band: 'senior',
    age_float: 70,
    plan: 'Premium',
  },
  C2: { annual_charges: 66, premium: false, age_band: null, age_float: 17, plan: 'basic' },
  C3: { annual_charges: null, premium: null, age_band: null, age_float: null, plan: null },
};

describe('a view of derived features over a filtered source', () => {
  it.each(['asof', 'merge-window'] as const)(
    'gives hand-computed training-set values with the %s strategy',
    async (strategy) => {
      const fixture = await offlineFixture([customer, subscriptions, billing], strategy);
      await fixture.ingest('subscriptions', rows);
      const result = await fixture.trainingSet(
        ['C1', 'C2', 'C3'].map((id) => ({ customer_id: id, event_timestamp: iso(m) })),
        { request: { features: ['billing:*'] } },
      );
      const byId = Object.fromEntries(
        (result.records ?? []).map((r) => [
          r.customer_id,
          Object.fromEntries(Object.keys(expected.C1).map((f) => [f, r[f]])),
        ]),
      );
      expect(byId).toEqual(expected);
    },
    120_000,
  );

  describe('online', () => {
    let server: Awaited<ReturnType<typeof startDynalite>>;
    let client: ReturnType<typeof localDynamoClient>;
    beforeAll(async () => {
      server = await startDynalite();
      client = localDynamoClient(server.endpoint);
    });
    afterAll(async () => {
      client.destroy();
      await server.close();
    });

    it('materializes the values the training set gives (verify-online matches all)', async () => {
      const fixture = await offlineFixture([customer, subscriptions, billing]);
      await fixture.ingest('subscriptions', rows);
      const table = 'fstore-derived-features';
      await ensureLocalTable(client, table);
      await materializeLocal({
        registry: fixture.registry,
        dataDir: fixture.dataDir,
        env: 'local',
        client,
        table,
        now: () => m,
      });
      const report = await verifyOnline({
        client,
        table,
        registry: fixture.registry,
        offline: localOfflineValues(fixture.registry, fixture.dataDir, 'local'),
        view: 'billing',
      });
      // C1 and C2 have items (C3's only row is filtered out), 5 features each.
      expect(report).toMatchObject({
        items: 2,
        values: 10,
        matching: 10,
        matchRate: 1,
        mismatches: [],
      });
    }, 120_000);
  });
});
