import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../lib/definitions/index.ts';
import { startDynalite } from '../../lib/local/dynalite-server.ts';
import { materializeLocal } from '../../lib/local/materialize-local.ts';
import { MaterializationStateStore } from '../../lib/materialize/materialization-state.ts';
import { readManifest } from '../../lib/offline/ingest-manifest.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { lookupFeatures } from '../../lib/online/online-lookup.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const events = defineSource({
  name: 'events',
  schema: { customer_id: 'string', score: 'int64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const profile = defineFeatureView({
  name: 'profile',
  entities: [customer],
  source: events,
  features: { score: 'int64' },
  ttl: '90d',
  online: true,
  schedule: 'rate(1 hour)',
});

const hour = 3_600_000;
const m = Date.parse('2026-03-01T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

describe('the local settle point of incremental runs goes by ingest sequence, not the clock', () => {
  let server: Awaited<ReturnType<typeof startDynalite>>;
  let client: ReturnType<typeof localDynamoClient>;

  beforeAll(async () => {
    server = await startDynalite();
    client = localDynamoClient(server.endpoint);
  });
  afterEach(() => vi.useRealTimers());
  afterAll(async () => {
    client.destroy();
    await server.close();
  });

  it('reads an ingest whose commit time a clock stepped back put before the last run', async () => {
    const fixture = await offlineFixture([customer, events, profile]);
    const table = 'fstore-clock-online';
    await ensureLocalTable(client, table);
    const run = (at: number) =>
      materializeLocal({
        registry: fixture.registry,
        dataDir: fixture.dataDir,
        env: 'local',
        client,
        table,
        now: () => at,
      }).then(([result]) => result);
    // Only Date is faked: the ingest stamps its commit with this clock, timers still run.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(m);
    await fixture.ingest('events', [{ customer_id: 'C1', score: 1, event_ts: iso(m - hour) }]);
    expect((await run(m + hour))?.scope).toEqual({ kind: 'full', reason: 'first run' });

    // The clock steps back two hours (NTP correction, another machine's clock) before the next
    // ingest commits: its commit time is far behind the one the last run saw.
    vi.setSystemTime(m - 2 * hour);
    await fixture.ingest('events', [{ customer_id: 'C1', score: 2, event_ts: iso(m - hour / 2) }]);
    const records = await readManifest(offlineRoot(fixture.dataDir, 'local'));
    expect(records?.map((r) => r.at)).toEqual([iso(m), iso(m - 2 * hour)]);

    const next = await run(m + 2 * hour);
    expect(next?.scope).toEqual({ kind: 'incremental', newIngests: 1, newIngestRows: 1 });
    expect(next?.counts).toMatchObject({ rowsRead: 1, written: 1 });
    const [values] = await lookupFeatures(
      client,
      table,
      fixture.registry,
      {
        views: [{ view: 'profile', features: [{ feature: 'score', outputName: 'score' }] }],
        entities: [{ customer_id: 'C1' }],
      },
      { now: () => m + 2 * hour },
    );
    expect(values?.score?.value).toBe(2);

    // The state holds one sequence number, whatever the number of ingests.
    const keyPrefix = fixture.registry.featureViews[0]?.onlineStore.keyPrefix as string;
    const state = await new MaterializationStateStore(client, table, keyPrefix).read();
    expect(state.ingests).toEqual({ seqThrough: '2' });
    expect((await run(m + 3 * hour))?.scope).toEqual({
      kind: 'incremental',
      newIngests: 0,
      newIngestRows: 0,
    });
  });
});
