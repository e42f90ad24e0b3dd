import { spawn } from 'node:child_process';
import path from 'node:path';
import {
  type AttributeValue,
  type DynamoDBClient,
  ScanCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prng } from '../../lib/demo/prng.ts';
import { epochMicrosOf, formatMicros } from '../../lib/epoch-micros.ts';
import { type LocalDynamo, startDynalite } from '../../lib/local/dynalite-server.ts';
import { materializeLocal } from '../../lib/local/materialize-local.ts';
import { plannedOnlineView } from '../../lib/materialize/materialize-view.ts';
import { duckdbTileBaseWriter } from '../../lib/materialize/tile-base-writer.ts';
import { openDuckdb } from '../../lib/offline/duckdb-session.ts';
import { type IngestRecord, readManifest } from '../../lib/offline/ingest-manifest.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { TileItemCache } from '../../lib/online/aggregation-tiles/tile-item-cache.ts';
import { itemAttributes } from '../../lib/online/item-codec.ts';
import { lookupFeatures } from '../../lib/online/online-lookup.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { compactPushLogs } from '../../lib/push/compact-push-logs.ts';
import { executePush } from '../../lib/push/execute-push.ts';
import { defaultPushLimits } from '../../lib/push/push-limits.ts';
import { appendPushLog } from '../../lib/push/push-log.ts';
import { duckdbDialect } from '../../lib/sql/duckdb-dialect.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';
import { paymentRow } from '../helpers/push-registry.ts';
import { repoRoot } from '../helpers/run-fstore.ts';
import { tileDefinitions } from '../helpers/tile-registry.ts';

const customers = ['K1', 'K2', 'K3'];
const second = 1_000_000n;
const minute = 60n * second;
const t0 = epochMicrosOf('2026-03-01T00:00:00Z');
let dynamo: LocalDynamo;
let tables = 0;

/** A double within the offline exact-sum boundary, of random sign and magnitude. */
function amount(prng: Prng): number | null {
  if (prng.next() < 0.1) return null;
  const mantissa = Math.floor(prng.next() * 2 ** 53) * (prng.next() < 0.3 ? -1 : 1);
  return mantissa * 2 ** prng.int(-60, -20);
}

const same = (got: unknown, want: unknown) => {
  if (typeof got === 'number' && typeof want === 'number') return Object.is(got, want);
  if (typeof want === 'bigint' || typeof got === 'bigint')
    return BigInt(got as bigint) === BigInt(want as bigint);
  if (typeof got === 'string' && typeof want === 'string' && !Number.isNaN(Date.parse(want)))
    return epochMicrosOf(got) === epochMicrosOf(want);
  return got === (want ?? null);
};

/**
 * A local environment (offline store, dynalite table) with the tile-fed view `spend`: batch
 * ingests, pushes that log offline (their logs wait until a materialization or compaction
 * ingests them), local materialization, and lookups at an instant with or without one cache.
 */
async function environment() {
  const fixture = await offlineFixture(tileDefinitions());
  const { registry, dataDir } = fixture;
  const spend = registry.featureViews.find((v) => v.name === 'spend');
  const features = (spend?.aggregations ?? [])
    .filter((a) => a.function !== 'count_distinct')
    .map((a) => a.feature);
  const client = localDynamoClient(dynamo.endpoint);
  const table = `fstore-tiles-materialized-${tables++}`;
  await ensureLocalTable(client, table);
  const tileCache = new TileItemCache();
  const push = (
    at: bigint,
    rows: Record<string, unknown>[],
    to: 'online_and_offline' | 'offline' = 'online_and_offline',
  ) =>
    executePush(
      {
        registry,
        online: { client, table },
        offline: async (source, pushed, identity) => {
          await appendPushLog(dataDir, 'local', source, pushed, identity.pushId, identity);
        },
        now: () => Number(at / 1000n),
      },
      defaultPushLimits,
      'payments',
      { rows, to },
    );
  const materialize = (
    at: bigint,
    extra: { tileBaseBeforeToken?: () => void; client?: DynamoDBClient } = {},
  ) =>
    materializeLocal({
      registry,
      dataDir,
      env: 'local',
      client,
      table,
      views: ['spend'],
      now: () => Number(at / 1000n),
      ...extra,
    });
  const lookupAt = async (at: bigint, cached: boolean) =>
    (
      await lookupFeatures(
        client,
        table,
        registry,
        {
          views: [
            { view: 'spend', features: features.map((f) => ({ feature: f, outputName: f })) },
          ],
          entities: customers.map((customer_id) => ({ customer_id })),
        },
        { now: () => Number(at / 1000n), ...(cached ? { tileCache } : {}) },
      )
    ).map((result) => Object.fromEntries(features.map((f) => [f, result[f]?.value ?? null])));
  /** The training set at each lookup, once every push log is ingested; mismatches as text. */
  const mismatches = async (
    lookups: readonly { at: bigint; customer: string; values: Record<string, unknown> }[],
  ) => {
    await compactPushLogs({ registry, dataDir, env: 'local' });
    const offline = await fixture.trainingSet(
      lookups.map((o) => ({ customer_id: o.customer, event_timestamp: formatMicros(o.at) })),
      { request: { features: features.map((f) => `spend:${f}`) } },
    );
    const found: string[] = [];
    lookups.forEach((o, i) => {
      for (const f of features) {
        const want = offline.records?.[i]?.[f] ?? null;
        const got = o.values[f] ?? null;
        if (!same(got, want))
          found.push(
            `${o.customer} ${f} at ${formatMicros(o.at)}: ${String(got)} vs ${String(want)}`,
          );
      }
    });
    return found;
  };
  /** Every tile item (minute items and blocks) as stored, by key. */
  const tileItems = async () => {
    const items = new Map<string, Record<string, AttributeValue>>();
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await client.send(
        new ScanCommand({ TableName: table, ConsistentRead: true, ExclusiveStartKey: start }),
      );
      for (const item of page.Items ?? []) {
        const key = item[itemAttributes.key]?.S ?? '';
        if (/\|(raw|tiles)#/.test(key)) items.set(key, item);
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  };
  /** A tile base writer run by hand over the customers, with the commit records given. */
  const writeBases = async (records: readonly IngestRecord[]) => {
    const root = offlineRoot(fixture.dataDir, 'local');
    const session = await openDuckdb();
    try {
      const { view, planned } = plannedOnlineView(registry, 'spend');
      const writer = duckdbTileBaseWriter({
        registry,
        view,
        planned,
        records: async () => records,
        connection: async () => session.connection,
        dialect: duckdbDialect(root),
        client,
        table,
        now: () => Number(t0 / 1000n),
      });
      return await writer?.writeEntities(customers.map((customer_id) => ({ customer_id })));
    } finally {
      session.close();
    }
  };
  const records = async () => (await readManifest(offlineRoot(fixture.dataDir, 'local'))) ?? [];
  const lookupRecords = (at: bigint, values: Record<string, unknown>[]) =>
    values.map((v, i) => ({ at, customer: customers[i] as string, values: v }));
  /** A local materialization in a process of its own, killed with SIGKILL at `fault`. */
  const materializeInChild = (at: bigint, fault: string) =>
    new Promise<{ signal: NodeJS.Signals | null; out: string }>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', path.join(repoRoot, 'test', 'helpers', 'materialize-tiles-child.ts')],
        {
          cwd: repoRoot,
          env: {
            ...process.env,
            FSTORE_FAULT: fault,
            FSTORE_TEST_DYNAMO: dynamo.endpoint,
            FSTORE_TEST_TABLE: table,
            FSTORE_TEST_DATA_DIR: dataDir,
            FSTORE_TEST_NOW_MS: String(at / 1000n),
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      child.stdout.on('data', (chunk) => {
        out += chunk;
      });
      child.stderr.on('data', (chunk) => {
        out += chunk;
      });
      child.on('error', reject);
      child.on('close', (_code, signal) => resolve({ signal, out }));
    });
  return {
    materializeInChild,
    fixture,
    client,
    table,
    push,
    materialize,
    lookupAt,
    mismatches,
    features,
    tileItems,
    writeBases,
    records,
    lookupRecords,
  };
}

/** Random rows of random customers with event times in `(after, until]`, no two tied on time. */
function rowsBetween(prng: Prng, after: bigint, until: bigint, count: number, taken: Set<string>) {
  return Array.from({ length: count }, () => {
    let event = after + 1n + BigInt(Math.floor(prng.next() * Number(until - after - 1n)));
    if (prng.next() < 0.15) event -= event % minute;
    if (event <= after) event = after + 1n;
    const id = customers[prng.int(0, customers.length - 1)] ?? 'K1';
    // Rule 2 orders a pushed row by its ingest, which tiles cannot know: keep event times apart.
    while (taken.has(`${id}|${event}`)) event += 1n;
    taken.add(`${id}|${event}`);
    return paymentRow(formatMicros(event), {
      customer_id: id,
      amount: amount(prng),
      status:
        prng.next() < 0.1 ? null : (['ok', 'refunded', 'ä', '😀', 'z'][prng.int(0, 4)] ?? 'ok'),
      created_ts: prng.next() < 0.3 ? null : formatMicros(event + BigInt(prng.int(0, 5))),
    });
  });
}

describe('scheduled materialization writes the tiles of a tile-fed view from the offline store (issue 20)', () => {
  beforeAll(async () => {
    dynamo = await startDynalite();
  });
  afterAll(async () => dynamo.close());

  it('answers lookups bit for bit as the training set at random instants over batch-ingested and pushed rows, each counted once', async () => {
    const env = await environment();
    const prng = new Prng(2020);
    const taken = new Set<string>();
    const lookups: { at: bigint; customer: string; values: Record<string, unknown> }[] = [];
    let after = t0 - 35n * 1440n * minute;
    for (let round = 0; round < 10; round++) {
      const gap =
        [30n * second, 7n * minute, 3n * 60n * minute, 2n * 1440n * minute][round % 4] ?? minute;
      const at = after + gap + BigInt(prng.int(1, 999_999));
      // Batch rows reach the tiles only through materialization; the first pushes are ingested
      // by it (their logs) and must not count twice; the later ones wait in their logs.
      await env.fixture.ingest('payments', rowsBetween(prng, after, at, prng.int(2, 8), taken));
      await env.push(at, rowsBetween(prng, after, at, prng.int(1, 4), taken));
      const [run] = await env.materialize(at);
      expect(run?.status).toBe('succeeded');
      await env.push(at, rowsBetween(prng, after, at, prng.int(0, 3), taken));
      const lastLookup = at + gap;
      const instants = Array.from(
        { length: 4 },
        () => at + BigInt(Math.floor(prng.next() * Number(lastLookup - at))),
      ).map((t) => t - (t % 1000n));
      // Window edges: an instant 10 minutes, 1 day or 30 days after a row, when one falls here.
      for (const w of [600n, 86_400n, 30n * 86_400n])
        for (const key of taken) {
          const edge = BigInt(key.split('|')[1] as string) + w * second;
          if (edge >= at && edge <= lastLookup && edge % 1000n === 0n) instants.push(edge);
          else if (edge >= at && edge <= lastLookup) instants.push(edge - (edge % 1000n) + 1000n);
        }
      for (const instant of instants.filter((t) => t >= at && t <= lastLookup).slice(0, 12)) {
        for (const cached of [false, true]) {
          const values = await env.lookupAt(instant, cached);
          lookups.push(...env.lookupRecords(instant, values));
        }
      }
      after = lastLookup;
    }
    expect((await env.mismatches(lookups)).slice(0, 10)).toEqual([]);
    expect(lookups.length).toBeGreaterThan(150);
    const filled = lookups.filter((o) => (o.values.amount_count_30d as number) > 0).length;
    expect(filled).toBeGreaterThan(lookups.length / 2);
  }, 600_000);

  it('counts rows pushed "to": "offline" in the base, once, among batch rows and pushes to both stores: lookups equal the training set bit for bit', async () => {
    const env = await environment();
    const prng = new Prng(2021);
    const taken = new Set<string>();
    const lookups: { at: bigint; customer: string; values: Record<string, unknown> }[] = [];
    let after = t0 - 3n * 1440n * minute;
    for (let round = 0; round < 6; round++) {
      const gap = [40n * second, 9n * minute, 5n * 60n * minute][round % 3] ?? minute;
      const at = after + gap + BigInt(prng.int(1, 999_999));
      // Offline-only pushes on both sides of pushes to both stores, in one batch of logs and
      // alone, and batch rows: the run ingests every waiting log before it writes the base.
      await env.push(at, rowsBetween(prng, after, at, prng.int(1, 3), taken), 'offline');
      await env.fixture.ingest('payments', rowsBetween(prng, after, at, prng.int(1, 4), taken));
      await env.push(at, rowsBetween(prng, after, at, prng.int(1, 3), taken));
      if (round % 2 === 0)
        await env.push(at, rowsBetween(prng, after, at, prng.int(1, 3), taken), 'offline');
      const [run] = await env.materialize(at);
      expect(run?.status).toBe('succeeded');
      await env.push(at, rowsBetween(prng, after, at, prng.int(0, 2), taken));
      const lastLookup = at + gap;
      const instants = Array.from(
        { length: 5 },
        () => at + BigInt(Math.floor(prng.next() * Number(lastLookup - at))),
      ).map((t) => t - (t % 1000n));
      for (const instant of instants)
        for (const cached of [false, true])
          lookups.push(...env.lookupRecords(instant, await env.lookupAt(instant, cached)));
      after = lastLookup;
    }
    // Batches of logs held rows of both kinds: their records name the tiled rows among them.
    const tiledCount = (r: IngestRecord) =>
      (r.pushTiledRows ?? []).reduce((n, [start, end]) => n + end - start, 0);
    const mixed = (await env.records()).filter(
      (r) => r.pushTiledRows && tiledCount(r) > 0 && tiledCount(r) < r.rows,
    );
    expect(mixed.length).toBeGreaterThan(0);
    expect((await env.mismatches(lookups)).slice(0, 10)).toEqual([]);
    const filled = lookups.filter((o) => (o.values.amount_count_1d as number) > 0).length;
    expect(filled).toBeGreaterThan(lookups.length / 2);
  }, 600_000);

  it('changes nothing when the same run is repeated, and a run at an older offline sequence never replaces a newer base', async () => {
    const env = await environment();
    const prng = new Prng(7);
    const taken = new Set<string>();
    const at = t0 - 5n * minute;
    await env.fixture.ingest(
      'payments',
      rowsBetween(prng, at - 2n * 1440n * minute, at, 12, taken),
    );
    const olderRecords = await env.records();
    await env.fixture.ingest(
      'payments',
      rowsBetween(prng, at - 2n * 1440n * minute, at, 12, taken),
    );
    expect((await env.materialize(t0))[0]?.status).toBe('succeeded');
    const written = await env.tileItems();
    expect(written.size).toBeGreaterThan(10);

    const again = await env.writeBases(await env.records());
    expect(again).toMatchObject({ entities: 3, itemsWritten: 0 });
    expect(again?.itemsAlreadyNewer).toBeGreaterThan(10);
    expect(await env.tileItems()).toEqual(written);

    const older = await env.writeBases(olderRecords);
    expect(older?.itemsWritten).toBe(0);
    expect(await env.tileItems()).toEqual(written);
    const values = await env.lookupAt(t0, false);
    expect(await env.mismatches(env.lookupRecords(t0, values))).toEqual([]);
    expect(values.every((v) => (v.amount_count_1d as number) > 0)).toBe(true);
  }, 120_000);

  it('completes a run that died between its tile writes and the write token: the rerun renews the token, so cached lookups are right again', async () => {
    const env = await environment();
    const prng = new Prng(11);
    const taken = new Set<string>();
    const at = t0 - 5n * minute;
    await env.push(at, rowsBetween(prng, at - 20n * minute, at, 6, taken));
    const before = await env.lookupAt(t0, true);
    await env.fixture.ingest('payments', rowsBetween(prng, at - 20n * minute, at, 9, taken));
    await expect(
      env.materialize(at, {
        tileBaseBeforeToken: () => {
          throw new Error('killed before renewing the write token');
        },
      }),
    ).rejects.toThrow(/killed before renewing/);
    // The items hold the base, the token is the old one: a cache still answers what it held.
    const uncached = await env.lookupAt(t0, false);
    expect(uncached).not.toEqual(before);
    expect(await env.lookupAt(t0, true)).toEqual(before);

    expect((await env.materialize(at))[0]?.status).toBe('succeeded');
    const cached = await env.lookupAt(t0, true);
    expect(cached).toEqual(await env.lookupAt(t0, false));
    expect(await env.mismatches(env.lookupRecords(t0, cached))).toEqual([]);
  }, 120_000);

  it('counts a batch ingest committed while the run takes its lease, which the run covers, in the tiles', async () => {
    const env = await environment();
    const prng = new Prng(17);
    const taken = new Set<string>();
    const at = t0 - 5n * minute;
    await env.fixture.ingest('payments', rowsBetween(prng, at - 30n * minute, at, 6, taken));
    const late = rowsBetween(prng, at - 30n * minute, at, 6, taken);
    // The run's first write is the lease on its state item: an ingest commits just before.
    let ingested = false;
    const client = new Proxy(env.client, {
      get(target, property, receiver) {
        if (property !== 'send') return Reflect.get(target, property, receiver);
        return async (command: unknown) => {
          const key = command instanceof UpdateItemCommand ? command.input.Key?.pk?.S : undefined;
          if (!ingested && key?.startsWith('~fstore#materialization#')) {
            ingested = true;
            await env.fixture.ingest('payments', late);
          }
          return target.send(command as UpdateItemCommand);
        };
      },
    });
    expect((await env.materialize(at, { client }))[0]?.status).toBe('succeeded');
    expect(ingested).toBe(true);
    // The run wrote the late rows' entities (it covers that ingest): their tiles hold them too.
    const values = await env.lookupAt(t0, false);
    expect(await env.mismatches(env.lookupRecords(t0, values))).toEqual([]);
  }, 120_000);

  it("shows a run's tiles through a warm cache as soon as the run returns", async () => {
    const env = await environment();
    const prng = new Prng(13);
    const taken = new Set<string>();
    const at = t0 - 5n * minute;
    await env.push(at, rowsBetween(prng, at - 30n * minute, at, 6, taken));
    const before = await env.lookupAt(t0, true);
    await env.fixture.ingest('payments', rowsBetween(prng, at - 30n * minute, at, 9, taken));
    expect((await env.materialize(at))[0]?.status).toBe('succeeded');
    const after = await env.lookupAt(t0, true);
    const counted = (values: Record<string, unknown>[]) =>
      values.reduce((n, v) => n + (v.amount_count_1d as number), 0);
    expect(counted(after)).toBeGreaterThan(counted(before));
    expect(after).toEqual(await env.lookupAt(t0, false));
    expect(await env.mismatches(env.lookupRecords(t0, after))).toEqual([]);
  }, 120_000);

  it('completes a run killed (SIGKILL) between its tile writes and the write token: the rerun takes over its lease and renews the token', async () => {
    const env = await environment();
    const prng = new Prng(17);
    const taken = new Set<string>();
    const at = t0 - 5n * minute;
    await env.push(at, rowsBetween(prng, at - 20n * minute, at, 6, taken));
    const before = await env.lookupAt(t0, true);
    await env.fixture.ingest('payments', rowsBetween(prng, at - 20n * minute, at, 9, taken));
    const killed = await env.materializeInChild(at, 'materialize:tiles-before-token');
    expect(killed.signal, killed.out).toBe('SIGKILL');
    expect(await env.lookupAt(t0, false)).not.toEqual(before);
    expect(await env.lookupAt(t0, true)).toEqual(before);

    expect((await env.materialize(at))[0]?.status).toBe('succeeded');
    const cached = await env.lookupAt(t0, true);
    expect(cached).toEqual(await env.lookupAt(t0, false));
    expect(await env.mismatches(env.lookupRecords(t0, cached))).toEqual([]);
  }, 120_000);
});
