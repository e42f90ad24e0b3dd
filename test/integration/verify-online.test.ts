import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../lib/definitions/index.ts';
import { startDynalite } from '../../lib/local/dynalite-server.ts';
import { materializeLocal } from '../../lib/local/materialize-local.ts';
import { openDuckdb } from '../../lib/offline/duckdb-session.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { writeOnlineRows } from '../../lib/online/online-writer.ts';
import { duckdbQueryRows } from '../../lib/quality/query-engine.ts';
import {
  athenaOfflineValues,
  localOfflineValues,
  verifyOnline,
} from '../../lib/quality/verify-online.ts';
import { athenaDialect } from '../../lib/sql/athena-dialect.ts';
import { duckdbDialect } from '../../lib/sql/duckdb-dialect.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const profiles = defineSource({
  name: 'profiles',
  schema: { customer_id: 'string', score: 'int64', plan: 'string', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const profile = defineFeatureView({
  name: 'profile',
  entities: [customer],
  source: profiles,
  features: { score: 'int64', plan: 'string' },
  ttl: '30d',
  online: true,
  schedule: 'rate(1 hour)',
});
const m = Date.parse('2026-03-01T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

describe('verify-online: online items against offline point-in-time values (DuckDB + dynalite)', () => {
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

  it('reports a full match after materialization, then finds an injected mismatch', async () => {
    const fixture = await offlineFixture([customer, profiles, profile]);
    await fixture.ingest(
      'profiles',
      Array.from({ length: 40 }, (_, i) => ({
        customer_id: `C${i}`,
        score: i,
        plan: i % 2 ? 'pro' : 'basic',
        event_ts: iso(m - (i % 40) * 86_400_000),
      })),
    );
    const table = 'fstore-verify-online';
    await ensureLocalTable(client, table);
    await materializeLocal({
      registry: fixture.registry,
      dataDir: fixture.dataDir,
      env: 'local',
      client,
      table,
      now: () => m,
    });
    const verify = () =>
      verifyOnline({
        client,
        table,
        registry: fixture.registry,
        offline: localOfflineValues(fixture.registry, fixture.dataDir, 'local'),
        view: 'profile',
      });
    const clean = await verify();
    expect(clean).toMatchObject({
      items: 40,
      values: 80,
      matching: 80,
      matchRate: 1,
      mismatches: [],
    });

    const view = fixture.registry.featureViews[0];
    if (!view) throw new Error('no view');
    await writeOnlineRows(
      client,
      table,
      view,
      [{ values: { customer_id: 'C3', score: 999, plan: 'pro' }, eventTs: iso(m + 1000) }],
      { now: () => m + 2000 },
    );
    const dirty = await verify();
    expect(dirty.matching).toBe(79);
    expect(dirty.mismatches).toEqual([
      {
        entity: { customer_id: 'C3' },
        feature: 'score',
        asOf: '2026-03-01T00:00:02.000000Z',
        online: 999,
        offline: 3,
      },
    ]);
  });

  it('gets the same answer from the inline-VALUES query it sends to Athena on AWS (run here on DuckDB)', async () => {
    const fixture = await offlineFixture([customer, profiles, profile]);
    await fixture.ingest(
      'profiles',
      Array.from({ length: 10 }, (_, i) => ({
        customer_id: `C${i}`,
        score: i,
        plan: 'pro',
        event_ts: iso(m - i * 86_400_000),
      })),
    );
    const table = 'fstore-verify-values';
    await ensureLocalTable(client, table);
    await materializeLocal({
      registry: fixture.registry,
      dataDir: fixture.dataDir,
      env: 'local',
      client,
      table,
      now: () => m,
    });
    const session = await openDuckdb();
    try {
      const result = await verifyOnline({
        client,
        table,
        registry: fixture.registry,
        view: 'profile',
        offline: athenaOfflineValues(
          fixture.registry,
          duckdbQueryRows(session.connection),
          duckdbDialect(offlineRoot(fixture.dataDir, 'local')),
        ),
      });
      expect(result).toMatchObject({ items: 10, values: 20, matching: 20, mismatches: [] });
    } finally {
      session.close();
    }
    let sent = '';
    await athenaOfflineValues(
      fixture.registry,
      async (sql) => {
        sent = sql;
        return [];
      },
      athenaDialect('fstore_dev'),
    )('profile', [{ customer_id: 'C1', event_timestamp: iso(m) }]);
    expect(sent).toContain(
      `SELECT * FROM (VALUES ('C1', TIMESTAMP '2026-03-01 00:00:00.000000', 1)) AS t("customer_id", event_timestamp, fstore_row_id)`,
    );
    expect(sent).toContain('"fstore_dev"."profiles"');
  });
});
