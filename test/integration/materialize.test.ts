import { readFile } from 'node:fs/promises';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../lib/definitions/index.ts';
import { Prng } from '../../lib/demo/prng.ts';
import { startDynalite } from '../../lib/local/dynalite-server.ts';
import { materializeLocal } from '../../lib/local/materialize-local.ts';
import {
  LeaseLostError,
  MaterializationBusyError,
  MaterializationStateStore,
  stateKey,
} from '../../lib/materialize/materialization-state.ts';
import { lookupFeatures } from '../../lib/online/online-lookup.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { writeOnlineRows } from '../../lib/online/online-writer.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';

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
    spend: 'float64',
    event_ts: 'timestamp',
    created_ts: 'timestamp',
  },
  timestampField: 'event_ts',
  createdTimestampField: 'created_ts',
});
const profile = defineFeatureView({
  name: 'profile',
  entities: [customer],
  source: events,
  features: {
    score: { type: 'int64', min: 0, max: 100 },
    tier: { type: 'string', allowedValues: ['bronze', 'silver', 'gold'] },
    spend: { type: 'float64', nullable: false },
  },
  ttl: '30d',
  online: true,
  schedule: 'rate(1 hour)',
});

const day = 86_400_000;
const m = Date.parse('2026-03-01T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const tiers = ['bronze', 'silver', 'gold'] as const;

/** 200 customers, ~2,400 rows over 60 days before m, some after m, with timestamp ties. */
function generatedRows(): Record<string, unknown>[] {
  const prng = new Prng(7);
  const random = () => prng.next();
  const rows: Record<string, unknown>[] = [];
  for (let c = 0; c < 200; c++) {
    const id = `C${String(c).padStart(4, '0')}`;
    const count = c % 17 === 0 ? 0 : 1 + Math.floor(random() * 20);
    let last = 0;
    for (let i = 0; i < count; i++) {
      // Some events fall after m (must not be materialized at m) and some share a timestamp.
      const ts = i > 0 && random() < 0.15 ? last : m - 60 * day + Math.floor(random() * 62 * day);
      last = ts;
      rows.push({
        customer_id: id,
        score: Math.floor(random() * 101),
        tier: tiers[Math.floor(random() * 3)],
        spend: Math.round(random() * 10_000) / 100,
        event_ts: iso(ts),
        created_ts: iso(ts + Math.floor(random() * 3) * 1000),
      });
    }
  }
  return rows;
}

const features = [
  {
    view: 'profile',
    features: ['score', 'tier', 'spend'].map((f) => ({ feature: f, outputName: f })),
  },
];

describe('materialization into the online store (DuckDB + dynalite)', () => {
  let server: Awaited<ReturnType<typeof startDynalite>>;
  let client: ReturnType<typeof localDynamoClient>;
  let tables = 0;
  const newTable = async () => {
    const table = `fstore-t${tables++}-online`;
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

  async function scanItems(table: string) {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await client.send(
        new ScanCommand({
          TableName: table,
          ...(start ? { ExclusiveStartKey: start as never } : {}),
        }),
      );
      for (const item of page.Items ?? []) {
        const { materialized_at: _at, ...rest } = item;
        if (!String(item.pk?.S).startsWith('~')) items.push(rest);
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return items.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  }

  function run(
    fixture: Awaited<ReturnType<typeof offlineFixture>>,
    table: string,
    at: number,
    extra: Partial<Parameters<typeof materializeLocal>[0]> = {},
  ) {
    return materializeLocal({
      registry: fixture.registry,
      dataDir: fixture.dataDir,
      env: 'local',
      client,
      table,
      now: () => at,
      ...extra,
    });
  }

  it('serves, for every entity, exactly the offline point-in-time value at the materialization time', async () => {
    const fixture = await offlineFixture([customer, events, profile]);
    await fixture.ingest('events', generatedRows());
    const table = await newTable();
    const [result] = await run(fixture, table, m);
    expect(result?.status).toBe('succeeded');
    expect(result?.counts.rejected).toBe(0);
    expect(result?.watermark).toBe(iso(m));

    const entities = Array.from({ length: 200 }, (_, c) => ({
      customer_id: `C${String(c).padStart(4, '0')}`,
      event_timestamp: iso(m),
    }));
    const offline = await fixture.trainingSet(entities, { request: { features: ['profile:*'] } });
    const online = await lookupFeatures(
      client,
      table,
      fixture.registry,
      { views: features, entities },
      { now: () => m },
    );
    const onlineValues = online.map((r) => ({
      score: r.score?.value ?? null,
      tier: r.tier?.value ?? null,
      spend: r.spend?.value ?? null,
    }));
    const offlineValues = (offline.records ?? []).map((r) => ({
      score: r.score === null ? null : Number(r.score),
      tier: r.tier,
      spend: r.spend,
    }));
    expect(onlineValues).toEqual(offlineValues);
    expect(onlineValues.filter((v) => v.score !== null).length).toBeGreaterThan(150);
  });

  // A crash after K item writes, with chunks of 25 rows: before any write, inside the first chunk,
  // on either side of the first and second chunk boundaries, mid-run, and at the last write.
  it.each([0, 1, 24, 25, 26, 49, 50, 51, 70, 150, 185])(
    'resumes a run that failed after %i writes and ends in the state of one clean run',
    async (k) => {
      const fixture = await offlineFixture([customer, events, profile]);
      await fixture.ingest('events', generatedRows());
      const clean = await newTable();
      const [cleanRun] = await run(fixture, clean, m, { chunkRows: 25 });
      const cleanItems = await scanItems(clean);
      expect(cleanItems).toHaveLength(cleanRun?.counts.written ?? -1);
      expect(cleanItems.length).toBeGreaterThan(k);

      const crashed = await newTable();
      let puts = 0;
      const failing = new Proxy(client, {
        get(target, property, receiver) {
          if (property !== 'send') return Reflect.get(target, property, receiver);
          return (command: { constructor: { name: string } }) => {
            if (command.constructor.name === 'PutItemCommand' && ++puts > k)
              return Promise.reject(new Error('injected crash'));
            return target.send(command as never);
          };
        },
      });
      await expect(
        run(fixture, crashed, m, { client: failing, chunkRows: 25, concurrency: 4 }),
      ).rejects.toThrow('injected crash');
      const state = await new MaterializationStateStore(
        client,
        crashed,
        fixture.registry.featureViews[0]?.onlineStore.keyPrefix as string,
      ).read();
      expect(state.watermark).toBeUndefined();
      // A checkpoint only for chunks written whole: never past the K writes that succeeded.
      const checkpointed = state.checkpoint?.counts.rowsRead ?? 0;
      expect(checkpointed).toBeLessThanOrEqual(k);
      expect(checkpointed).toBeGreaterThanOrEqual(Math.floor(k / 25 - 1) * 25);
      expect(state.lastRun?.status).toBe('failed');
      expect(state.lease).toBeUndefined();
      const partial = await scanItems(crashed);
      expect(partial.length).toBeGreaterThanOrEqual(k);
      expect(partial.length).toBeLessThan(cleanItems.length);

      const [resumed] = await run(fixture, crashed, m + 5 * 60_000, { chunkRows: 25 });
      expect(resumed?.status).toBe('succeeded');
      // The run's checkpoint is saved before its first read, so even K = 0 resumes that run.
      expect(resumed?.resumed).toBe(true);
      expect(resumed?.counts.rowsRead).toBe(cleanRun?.counts.rowsRead);
      expect(resumed?.window.until).toBe(iso(m));
      expect(resumed?.watermark).toBe(iso(m));
      expect(await scanItems(crashed)).toEqual(cleanItems);
    },
    180_000,
  );

  it('pauses at a checkpoint when asked (a Lambda near its timeout) and a later run completes it', async () => {
    const fixture = await offlineFixture([customer, events, profile]);
    await fixture.ingest('events', generatedRows());
    const clean = await newTable();
    await run(fixture, clean, m);
    const table = await newTable();
    let checks = 0;
    const [paused] = await run(fixture, table, m, {
      chunkRows: 40,
      shouldPause: () => ++checks > 1,
    });
    expect(paused?.status).toBe('paused');
    expect(paused?.watermark).toBeUndefined();
    const [done] = await run(fixture, table, m + 60_000, { chunkRows: 40 });
    expect(done?.status).toBe('succeeded');
    expect(done?.resumed).toBe(true);
    expect(
      (paused?.counts.rowsRead ?? 0) > 0 &&
        (paused?.counts.rowsRead ?? 0) < (done?.counts.rowsRead ?? 0),
    ).toBe(true);
    expect(await scanItems(table)).toEqual(await scanItems(clean));
  });

  it('stops at its next checkpoint on a stop request, releases the lease and names the key it resumes after', async () => {
    const fixture = await offlineFixture([customer, events, profile]);
    await fixture.ingest('events', generatedRows());
    const clean = await newTable();
    await run(fixture, clean, m);
    const table = await newTable();
    const stop = new AbortController();
    const results = await run(fixture, table, m, {
      chunkRows: 40,
      signal: stop.signal,
      onProgress: () => stop.abort(),
    });
    expect(results.map((r) => r.status)).toEqual(['paused']);
    const [stopped] = results;
    expect(stopped?.counts.rowsRead).toBe(40);
    expect(stopped?.resumeAfter).toHaveLength(1);
    const keyPrefix = fixture.registry.featureViews.find((v) => v.name === stopped?.view)
      ?.onlineStore.keyPrefix as string;
    const state = await new MaterializationStateStore(client, table, keyPrefix).read();
    expect(state.lease).toBeUndefined();
    expect(state.checkpoint?.afterKey).toEqual(stopped?.resumeAfter);
    expect(state.lastRun?.status).toBe('paused');
    const done = await run(fixture, table, m + 60_000, { chunkRows: 40 });
    expect(done[0]).toMatchObject({ status: 'succeeded', resumed: true });
    expect(await scanItems(table)).toEqual(await scanItems(clean));
  });

  it('starts no view when the stop request came before it began', async () => {
    const fixture = await offlineFixture([customer, events, profile]);
    const stop = new AbortController();
    stop.abort();
    expect(await run(fixture, await newTable(), m, { signal: stop.signal })).toEqual([]);
  });

  it('never overwrites a newer value written by another path between runs', async () => {
    const fixture = await offlineFixture([customer, events, profile]);
    const view = fixture.registry.featureViews[0];
    if (!view) throw new Error('no view');
    await fixture.ingest('events', [
      {
        customer_id: 'C1',
        score: 10,
        tier: 'gold',
        spend: 1,
        event_ts: iso(m - 3 * day),
        created_ts: iso(m - 3 * day),
      },
    ]);
    const table = await newTable();
    await run(fixture, table, m);
    await writeOnlineRows(client, table, view, [
      {
        values: { customer_id: 'C1', score: 99, tier: 'silver', spend: 2 },
        eventTs: iso(m + 1000),
        createdTs: iso(m + 1000),
      },
    ]);
    await fixture.ingest('events', [
      {
        customer_id: 'C1',
        score: 20,
        tier: 'bronze',
        spend: 3,
        event_ts: iso(m + 500),
        created_ts: iso(m + 500),
      },
    ]);
    const [second] = await run(fixture, table, m + 2 * day);
    expect(second?.counts).toMatchObject({ rowsRead: 1, written: 0, skippedAsOlder: 1 });
    const [item] = await lookupFeatures(
      client,
      table,
      fixture.registry,
      { views: features, entities: [{ customer_id: 'C1' }] },
      { now: () => m + 2 * day },
    );
    expect(item?.score?.value).toBe(99);
  });

  it('picks up late rows however late they are, by their ingest, and a backfill rewrites nothing newer', async () => {
    const fixture = await offlineFixture([customer, events, profile]);
    const row = (id: string, score: number, ts: number) => ({
      customer_id: id,
      score,
      tier: 'gold',
      spend: 1,
      event_ts: iso(ts),
      created_ts: iso(ts),
    });
    await fixture.ingest('events', [row('C1', 1, m - 5 * day), row('C2', 1, m - 5 * day)]);
    const table = await newTable();
    const [first] = await run(fixture, table, m, { allowedLatenessSeconds: 3600 });
    expect(first?.scope).toEqual({ kind: 'full', reason: 'first run' });
    // Late: both arrive after the run at m; C1's is 30 minutes old, C2's 2 hours, past the
    // lateness, which only stores without commit records use.
    await fixture.ingest('events', [row('C1', 2, m - 30 * 60_000), row('C2', 2, m - 2 * 3600_000)]);
    const [next] = await run(fixture, table, m + 3600_000, { allowedLatenessSeconds: 3600 });
    expect(next?.window.after).toBe(iso(m));
    expect(next?.scope).toEqual({ kind: 'incremental', newIngests: 1, newIngestRows: 2 });
    expect(next?.counts).toMatchObject({ rowsRead: 2, written: 2 });
    const score = async (id: string) =>
      (
        await lookupFeatures(
          client,
          table,
          fixture.registry,
          { views: features, entities: [{ customer_id: id }] },
          { now: () => m + 3600_000 },
        )
      )[0]?.score?.value;
    expect(await score('C1')).toBe(2);
    expect(await score('C2')).toBe(2);
    const [backfill] = await run(fixture, table, m + 3600_000, { range: { start: iso(m - day) } });
    expect(backfill?.scope).toEqual({ kind: 'backfill' });
    expect(backfill?.counts).toMatchObject({ rowsRead: 2, written: 0, skippedAsOlder: 2 });
    expect(backfill?.watermark).toBe(iso(m + 3600_000));
  });

  it('quarantines rows that break constraints, counts them and writes the rest', async () => {
    const fixture = await offlineFixture([customer, events, profile]);
    const row = (id: string, over: Record<string, unknown>) => ({
      customer_id: id,
      score: 5,
      tier: 'gold',
      spend: 1,
      event_ts: iso(m - day),
      created_ts: iso(m - day),
      ...over,
    });
    await fixture.ingest('events', [
      row('C1', {}),
      row('C2', { score: 101 }),
      row('C3', { tier: 'platinum' }),
      row('C4', { spend: null }),
      row('C5', { score: -1, tier: 'none' }),
    ]);
    const table = await newTable();
    const [result] = await run(fixture, table, m);
    expect(result?.counts).toMatchObject({ rowsRead: 5, written: 1, rejected: 4 });
    const lines = (await readFile(result?.quarantine as string, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.row.customer_id, l.reasons])).toEqual([
      ['C2', ['score = 101 is above max 100']],
      ['C3', ['tier = "platinum" is not one of ["bronze","silver","gold"]']],
      ['C4', ['spend is null but the feature is not nullable']],
      [
        'C5',
        ['score = -1 is below min 0', 'tier = "none" is not one of ["bronze","silver","gold"]'],
      ],
    ]);
    expect((await scanItems(table)).map((i) => (i.pk as { S: string }).S)).toEqual([
      `${fixture.registry.featureViews[0]?.onlineStore.keyPrefix}#customer_id=C1`,
    ]);
  });

  it('refuses a second run while another holds the lease, and takes over an expired lease', async () => {
    const fixture = await offlineFixture([customer, events, profile]);
    const keyPrefix = fixture.registry.featureViews[0]?.onlineStore.keyPrefix as string;
    const table = await newTable();
    const other = new MaterializationStateStore(client, table, keyPrefix, () => m);
    await other.acquire('other-run', 60_000);
    await expect(run(fixture, table, m + 1000)).rejects.toThrow(MaterializationBusyError);
    await expect(run(fixture, table, m + 1000)).rejects.toThrow(/other-run/);
    const [taken] = await run(fixture, table, m + 61_000);
    expect(taken?.status).toBe('succeeded');
    // The run that lost its lease can no longer move the state.
    await expect(
      other.finish(
        'other-run',
        {
          runId: 'x',
          status: 'succeeded',
          startedAt: iso(m),
          finishedAt: iso(m),
          window: { until: iso(m) },
          counts: { rowsRead: 0, written: 0, skippedAsOlder: 0, rejected: 0 },
          durationMs: 0,
        },
        { watermark: iso(m + day) },
      ),
    ).rejects.toThrow(LeaseLostError);
    const state = await other.read();
    expect(state.watermark).toBe(iso(m + 61_000));
    expect(stateKey(keyPrefix).startsWith('~')).toBe(true);
  });

  it('takes over at once the lease of a local process that was killed, but not of one that runs', async () => {
    const fixture = await offlineFixture([customer, events, profile]);
    const keyPrefix = fixture.registry.featureViews[0]?.onlineStore.keyPrefix as string;
    const table = await newTable();
    const holder = new MaterializationStateStore(client, table, keyPrefix, () => m);
    await holder.acquire('local-2147483646-dead', 3_600_000);
    const [taken] = await run(fixture, table, m + 1000);
    expect(taken?.status).toBe('succeeded');
    const live = new MaterializationStateStore(client, table, keyPrefix, () => m + 2000);
    await live.acquire(`local-${process.ppid}-alive`, 3_600_000);
    await expect(run(fixture, table, m + 3000)).rejects.toThrow(MaterializationBusyError);
  });

  it('reports the view quality rules a run broke, and records them with the run', async () => {
    const checked = defineFeatureView({
      name: 'checked',
      entities: [customer],
      source: events,
      features: { score: 'int64', spend: 'float64' },
      online: true,
      schedule: 'rate(1 hour)',
      quality: { minRows: 10, maxNullPercent: 20 },
    });
    const fixture = await offlineFixture([customer, events, checked]);
    await fixture.ingest(
      'events',
      [1, 2, 3, 4, 5].map((i) => ({
        customer_id: `C${i}`,
        score: i,
        tier: 'gold',
        spend: i <= 2 ? null : 1,
        event_ts: iso(m - day),
        created_ts: iso(m - day),
      })),
    );
    const table = await newTable();
    const [result] = await run(fixture, table, m);
    expect(result?.qualityIssues).toEqual([
      'min rows 10: the run read 5',
      'spend max null 20%: 40.00% null (2 of 5 rows)',
    ]);
    expect(result?.counts.written).toBe(5);
    const state = await new MaterializationStateStore(
      client,
      table,
      fixture.registry.featureViews[0]?.onlineStore.keyPrefix as string,
    ).read();
    expect(state.lastRun?.qualityIssues).toHaveLength(2);
  });

  it('refuses a bad backfill range before taking the lease, so the next run is not blocked', async () => {
    const fixture = await offlineFixture([customer, events, profile]);
    const table = await newTable();
    await expect(run(fixture, table, m, { range: { start: 'soon' } })).rejects.toThrow(
      '--start is not a date or time: "soon"',
    );
    await expect(
      run(fixture, table, m, { range: { start: iso(m), end: iso(m - day) } }),
    ).rejects.toThrow('the backfill range starts');
    const [next] = await run(fixture, table, m);
    expect(next?.status).toBe('succeeded');
  });
});
