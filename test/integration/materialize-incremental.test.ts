import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../lib/definitions/index.ts';
import { Prng } from '../../lib/demo/prng.ts';
import { startDynalite } from '../../lib/local/dynalite-server.ts';
import { materializeLocal } from '../../lib/local/materialize-local.ts';
import { MaterializationStateStore } from '../../lib/materialize/materialization-state.ts';
import { openDuckdb } from '../../lib/offline/duckdb-session.ts';
import { manifestPath } from '../../lib/offline/ingest-manifest.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { lookupFeatures } from '../../lib/online/online-lookup.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';
import { countingClient, scanEntityItems } from '../helpers/online-items.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const events = defineSource({
  name: 'events',
  schema: {
    customer_id: 'string',
    score: 'int64',
    tier: 'string',
    event_ts: 'timestamp',
    created_ts: 'timestamp',
  },
  timestampField: 'event_ts',
  createdTimestampField: 'created_ts',
});
const viewOf = (scoreMax: number) =>
  defineFeatureView({
    name: 'profile',
    entities: [customer],
    source: events,
    features: { score: { type: 'int64', max: scoreMax }, tier: 'string' },
    ttl: '90d',
    online: true,
    schedule: 'rate(1 hour)',
  });
const profile = viewOf(1000);

const hour = 3_600_000;
const day = 24 * hour;
const m = Date.parse('2026-03-01T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const ids = Array.from({ length: 60 }, (_, i) => `C${String(i).padStart(3, '0')}`);

type Row = Record<string, unknown>;

/**
 * Rows over 40 days before m, with NULL values, NULL created times, and exact copies of earlier
 * rows' timestamps (ties that created time, then ingestion order, decide).
 */
function batch(prng: Prng, count: number, earlier: readonly Row[]): Row[] {
  const rows: Row[] = [];
  for (let i = 0; i < count; i++) {
    const tie =
      earlier.length > 0 && prng.next() < 0.25
        ? earlier[prng.int(0, earlier.length - 1)]
        : undefined;
    const ts = tie ? Date.parse(tie.event_ts as string) : m - Math.floor(prng.next() * 40 * day);
    const created =
      tie && prng.next() < 0.5
        ? tie.created_ts
        : prng.next() < 0.2
          ? null
          : iso(ts + prng.int(0, 2) * 1000);
    rows.push({
      customer_id: tie ? tie.customer_id : ids[prng.int(0, ids.length - 1)],
      score: prng.next() < 0.15 ? null : prng.int(0, 999),
      tier: prng.next() < 0.15 ? null : ['bronze', 'silver', 'gold'][prng.int(0, 2)],
      event_ts: iso(ts),
      created_ts: created,
    });
  }
  return rows;
}

const request = [
  { view: 'profile', features: ['score', 'tier'].map((f) => ({ feature: f, outputName: f })) },
];

describe('incremental materialization: a run writes what is new since the last one (DuckDB + dynalite)', () => {
  let server: Awaited<ReturnType<typeof startDynalite>>;
  let client: ReturnType<typeof localDynamoClient>;
  let tables = 0;
  const newTable = async () => {
    const table = `fstore-inc${tables++}-online`;
    await ensureLocalTable(client, table);
    return table;
  };
  beforeAll(async () => {
    server = await startDynalite();
    client = localDynamoClient(server.endpoint);
  });
  afterAll(async () => {
    client.destroy();
    await server.close();
  });

  it('ends in the items of a full rematerialization and the offline values after late rows, ties, NULL winners, rows dated ahead and a crash', async () => {
    const fixture = await offlineFixture([customer, events, profile]);
    const prng = new Prng(11);
    const all: Row[] = [];
    const ingest = async (rows: Row[]) => {
      all.push(...rows);
      await fixture.ingest('events', rows);
    };
    const run = (
      table: string,
      at: number,
      extra: Partial<Parameters<typeof materializeLocal>[0]> = {},
    ) =>
      materializeLocal({
        registry: fixture.registry,
        dataDir: fixture.dataDir,
        env: 'local',
        client,
        table,
        now: () => at,
        chunkRows: 10,
        ...extra,
      });
    const expectSameAsFullRunAt = async (table: string, at: number) => {
      const full = await newTable();
      const [fullRun] = await run(full, at);
      expect(fullRun?.scope?.kind).toBe('full');
      expect(await scanEntityItems(client, table)).toEqual(await scanEntityItems(client, full));
    };

    // Two rows dated ahead of the runs that read them: at m + 30 min and m + 2 h 30 min.
    await ingest([
      ...batch(prng, 300, []),
      {
        customer_id: 'C001',
        score: 1,
        tier: 'gold',
        event_ts: iso(m + 30 * 60_000),
        created_ts: null,
      },
      {
        customer_id: 'C002',
        score: 2,
        tier: 'gold',
        event_ts: iso(m + 150 * 60_000),
        created_ts: null,
      },
    ]);
    const table = await newTable();
    const [first] = await run(table, m);
    expect(first?.scope).toEqual({ kind: 'full', reason: 'first run' });
    await expectSameAsFullRunAt(table, m);

    const late = batch(prng, 40, all);
    await ingest(late);
    const [second] = await run(table, m + hour);
    expect(second?.scope).toEqual({ kind: 'incremental', newIngests: 1, newIngestRows: 40 });
    // The newest new row per entity, and C001's row that came due: earlier losers are not read.
    const entities = new Set(late.map((r) => r.customer_id)).add('C001');
    expect(second?.counts.rowsRead).toBe(entities.size);
    await expectSameAsFullRunAt(table, m + hour);

    // A crash after 7 writes of the next run; the rerun resumes its window and snapshot.
    await ingest(batch(prng, 40, all));
    const failing = countingClient(client, { failPutsAfter: 7 });
    await expect(run(table, m + 2 * hour, { client: failing.client })).rejects.toThrow(
      'injected crash',
    );
    const keyPrefix = fixture.registry.featureViews[0]?.onlineStore.keyPrefix as string;
    const crashed = await new MaterializationStateStore(client, table, keyPrefix).read();
    expect(crashed.watermark).toBe(iso(m + hour));
    // Coverage by sequence: the 302 + 40 rows of the two ingests the last finished run saw.
    expect(crashed.ingests).toEqual({ seqThrough: '342' });
    // An ingest committed after the crash is not part of the resumed run, but of the next.
    const afterCrash = batch(prng, 10, all);
    await ingest(afterCrash);
    const [resumed] = await run(table, m + 2 * hour + 5 * 60_000);
    expect(resumed).toMatchObject({
      resumed: true,
      status: 'succeeded',
      watermark: iso(m + 2 * hour),
    });
    expect(resumed?.scope).toMatchObject({ newIngests: 1, newIngestRows: 40 });
    const [caughtUp] = await run(table, m + 2 * hour + 6 * 60_000);
    expect(caughtUp?.scope).toMatchObject({
      kind: 'incremental',
      newIngests: 1,
      newIngestRows: 10,
    });
    await expectSameAsFullRunAt(table, m + 2 * hour + 6 * 60_000);

    // Nothing ingested, nothing came due: no item is written or even conditionally put.
    const counted = countingClient(client);
    const [idle] = await run(table, m + 2 * hour + 10 * 60_000, { client: counted.client });
    expect(idle?.scope).toEqual({ kind: 'incremental', newIngests: 0, newIngestRows: 0 });
    expect(idle?.counts).toEqual({ rowsRead: 0, written: 0, skippedAsOlder: 0, rejected: 0 });
    expect(counted.count('PutItemCommand')).toBe(0);

    // Time alone brings C002's row dated m + 2 h 30 min.
    const [due] = await run(table, m + 3 * hour);
    expect(due?.counts).toMatchObject({ rowsRead: 1, written: 1 });
    await expectSameAsFullRunAt(table, m + 3 * hour);

    const at = m + 3 * hour;
    const offline = await fixture.trainingSet(
      ids.map((customer_id) => ({ customer_id, event_timestamp: iso(at) })),
      { request: { features: ['profile:*'] } },
    );
    const online = await lookupFeatures(
      client,
      table,
      fixture.registry,
      { views: request, entities: ids.map((customer_id) => ({ customer_id })) },
      { now: () => at },
    );
    const values = online.map((r) => [r.score?.value ?? null, r.tier?.value ?? null]);
    const expected = (offline.records ?? []).map((r) => [
      r.score === null ? null : Number(r.score),
      r.tier,
    ]);
    expect(values).toEqual(expected);
    expect(values.some(([score]) => score === null)).toBe(true);
  });

  it('runs in full after a definition change that keeps the view version, then incrementally again', async () => {
    const fixture = await offlineFixture([customer, events, profile]);
    await fixture.ingest('events', batch(new Prng(3), 50, []));
    const table = await newTable();
    const run = (registry: typeof fixture.registry, at: number) =>
      materializeLocal({
        registry,
        dataDir: fixture.dataDir,
        env: 'local',
        client,
        table,
        now: () => at,
      });
    await run(fixture.registry, m);
    const changed = (await offlineFixture([customer, events, viewOf(500)])).registry;
    const [view] = changed.featureViews;
    expect(view?.onlineStore.keyPrefix).toBe(
      fixture.registry.featureViews[0]?.onlineStore.keyPrefix,
    );
    const [full] = await run(changed, m + hour);
    expect(full?.scope).toEqual({ kind: 'full', reason: 'the definition changed' });
    expect(full?.counts.rejected).toBeGreaterThan(0);
    const [next] = await run(changed, m + 2 * hour);
    expect(next?.scope).toEqual({ kind: 'incremental', newIngests: 0, newIngestRows: 0 });
  });

  it('falls back to the watermark minus the allowed lateness for a store without commit records', async () => {
    const fixture = await offlineFixture([customer, events, profile]);
    const row = (id: string, ts: number) =>
      `SELECT '${id}' AS customer_id, 2::BIGINT AS score, 'gold' AS tier, TIMESTAMP '${iso(ts).slice(0, 23)}' AS event_ts, NULL::TIMESTAMP AS created_ts, 99::BIGINT AS fstore_seq, '${iso(ts).slice(0, 10)}' AS dt`;
    await fixture.ingest('events', [
      { customer_id: 'C1', score: 1, tier: 'gold', event_ts: iso(m - 5 * day), created_ts: null },
      { customer_id: 'C2', score: 1, tier: 'gold', event_ts: iso(m - 5 * day), created_ts: null },
    ]);
    const root = offlineRoot(fixture.dataDir, 'local');
    await rm(manifestPath(root));
    const table = await newTable();
    const run = (at: number) =>
      materializeLocal({
        registry: fixture.registry,
        dataDir: fixture.dataDir,
        env: 'local',
        client,
        table,
        now: () => at,
        allowedLatenessSeconds: 3600,
      });
    const [first] = await run(m);
    expect(first?.scope).toEqual({ kind: 'full', reason: 'first run' });
    // Files placed by hand after the run: C1's row is 30 minutes late, C2's 2 hours.
    const folder = path.join(root, 'events', `dt=${iso(m).slice(0, 10)}`);
    await mkdir(folder, { recursive: true });
    const session = await openDuckdb();
    try {
      await session.connection.run(
        `COPY (${row('C1', m - 30 * 60_000)} UNION ALL ${row('C2', m - 2 * hour)}) TO '${path.join(folder, 'by-hand.parquet')}' (FORMAT parquet)`,
      );
    } finally {
      session.close();
    }
    const [next] = await run(m + hour);
    expect(next?.scope).toEqual({ kind: 'lateness' });
    expect(next?.window.after).toBe(iso(m - hour).replace('Z', '000Z'));
    expect(next?.counts).toMatchObject({ rowsRead: 1, written: 1 });
  });
});
