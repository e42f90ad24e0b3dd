import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  defineAggregationView,
  defineEntity,
  defineFeatureView,
  defineSource,
} from '../../lib/definitions/index.ts';
import { startDynalite } from '../../lib/local/dynalite-server.ts';
import { materializeLocal } from '../../lib/local/materialize-local.ts';
import { lookupFeatures } from '../../lib/online/online-lookup.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { localOfflineValues, verifyOnline } from '../../lib/quality/verify-online.ts';
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
  ttl: '1h',
  online: true,
  schedule: 'rate(1 hour)',
});
const hourly = defineAggregationView({
  name: 'hourly',
  entities: [customer],
  source: events,
  aggregations: { score: { functions: ['count', 'max'], windows: ['1h'] } },
  online: true,
  schedule: 'rate(1 hour)',
});

// Wall-clock "now" of the scheduled runs (milliseconds) and the instants the rows differ by.
const now = Date.parse('2024-04-01T00:10:00Z');
const at = (micros: string) => `2024-04-01T00:00:00.${micros}Z`;

describe('online items keep microseconds (DuckDB + dynalite)', () => {
  let server: Awaited<ReturnType<typeof startDynalite>>;
  let client: ReturnType<typeof localDynamoClient>;
  let tables = 0;
  beforeAll(async () => {
    server = await startDynalite();
    client = localDynamoClient(server.endpoint);
  });
  afterAll(async () => {
    client.destroy();
    await server.close();
  });

  async function setUp() {
    const fixture = await offlineFixture([customer, events, profile, hourly]);
    const table = `fstore-us${tables++}-online`;
    await ensureLocalTable(client, table);
    const materialize = (
      options: { at?: number; range?: { start?: string; end?: string }; views?: string[] } = {},
    ) =>
      materializeLocal({
        registry: fixture.registry,
        dataDir: fixture.dataDir,
        env: 'local',
        client,
        table,
        now: () => options.at ?? now,
        ...(options.range ? { range: options.range } : {}),
        ...(options.views ? { views: options.views } : {}),
      });
    const lookup = async (view: string, features: string[], lookupAt = now) =>
      (
        await lookupFeatures(
          client,
          table,
          fixture.registry,
          {
            views: [{ view, features: features.map((f) => ({ feature: f, outputName: f })) }],
            entities: [{ customer_id: 'C1' }],
          },
          { now: () => lookupAt },
        )
      )[0];
    const offline = async (view: string, features: string[], instant: string) => {
      const result = await fixture.trainingSet([{ customer_id: 'C1', event_timestamp: instant }], {
        request: { features: features.map((f) => `${view}:${f}`) },
      });
      return result.records?.[0];
    };
    return { fixture, table, materialize, lookup, offline };
  }

  it('serves the row 400µs later in the same millisecond, with its microsecond event time', async () => {
    const { fixture, materialize, lookup } = await setUp();
    await fixture.ingest('events', [
      { customer_id: 'C1', score: 2, event_ts: at('000700') },
      { customer_id: 'C1', score: 1, event_ts: at('000300') },
    ]);
    const [result] = await materialize({ views: ['profile'] });
    expect(result?.newestEventTs).toBe(at('000700'));
    expect((await lookup('profile', ['score']))?.score).toEqual({
      value: 2,
      status: 'PRESENT',
      event_timestamp: at('000700'),
    });
  });

  it('never lets a late row older by 400µs overwrite the online item', async () => {
    const { fixture, materialize, lookup } = await setUp();
    await fixture.ingest('events', [{ customer_id: 'C1', score: 2, event_ts: at('000700') }]);
    await materialize({ views: ['profile'] });
    await fixture.ingest('events', [{ customer_id: 'C1', score: 1, event_ts: at('000300') }]);
    const [late] = await materialize({ views: ['profile'], range: { start: at('000000') } });
    expect(late?.counts.skippedAsOlder).toBe(1);
    expect((await lookup('profile', ['score']))?.score?.event_timestamp).toBe(at('000700'));
    expect((await lookup('profile', ['score']))?.score?.value).toBe(2);
  });

  it('equals the offline value at a backfill end between the two rows (.000500)', async () => {
    const { fixture, table, materialize, lookup, offline } = await setUp();
    await fixture.ingest('events', [
      { customer_id: 'C1', score: 1, event_ts: at('000300') },
      { customer_id: 'C1', score: 2, event_ts: at('000700') },
    ]);
    const end = at('000500');
    const [passthrough, aggregate] = await materialize({ range: { end } });
    expect(passthrough?.window.until).toBe(end);
    expect(aggregate?.window.until).toBe(end);
    const online = await lookup('profile', ['score']);
    expect(online?.score?.event_timestamp).toBe(at('000300'));
    expect(online?.score?.value).toBe((await offline('profile', ['score'], end))?.score);
    expect(online?.score?.value).toBe(1);
    const onlineAggregate = await lookup('hourly', ['score_count_1h', 'score_max_1h']);
    const offlineAggregate = await offline('hourly', ['score_count_1h', 'score_max_1h'], end);
    expect(onlineAggregate?.score_count_1h?.event_timestamp).toBe(end);
    expect({
      score_count_1h: onlineAggregate?.score_count_1h?.value,
      score_max_1h: onlineAggregate?.score_max_1h?.value,
    }).toEqual({ score_count_1h: 1, score_max_1h: 1 });
    expect(offlineAggregate).toMatchObject({ score_count_1h: 1, score_max_1h: 1 });
    for (const view of ['profile', 'hourly']) {
      const check = await verifyOnline({
        client,
        table,
        registry: fixture.registry,
        offline: localOfflineValues(fixture.registry, fixture.dataDir, 'local'),
        view,
      });
      expect(check.mismatches, view).toEqual([]);
    }
  });

  it('reads an item present just before t + TTL (.000700) and outside its TTL in the next millisecond', async () => {
    const { fixture, materialize, lookup } = await setUp();
    await fixture.ingest('events', [{ customer_id: 'C1', score: 2, event_ts: at('000700') }]);
    await materialize({ views: ['profile'] });
    // Lookups take the wall clock in milliseconds: t + TTL = 01:00:00.000700 lies between two.
    const status = async (ms: number) => (await lookup('profile', ['score'], ms))?.score?.status;
    expect(await status(Date.parse('2024-04-01T01:00:00.000Z'))).toBe('PRESENT');
    expect(await status(Date.parse('2024-04-01T01:00:00.001Z'))).toBe('OUTSIDE_TTL');
  });
});
