import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { LeaseLostError } from '../../../lib/materialize/materialization-state.ts';
import {
  type MaterializeViewOptions,
  materializeView,
} from '../../../lib/materialize/materialize-view.ts';
import type { LatestRowsQuery, RowSource } from '../../../lib/materialize/row-source.ts';
import { shardOfKey } from '../../../lib/materialize/shard-plan.ts';
import { ShardStateStore } from '../../../lib/materialize/shard-state.ts';
import type { Registry } from '../../../lib/registry/index.ts';
import { useDynaliteTables } from '../../helpers/dynalite-tables.ts';
import {
  keyPrefixOf,
  memoryQuarantine,
  profileRegistry,
  stateOf,
} from '../../helpers/materialize-harness.ts';

const dynalite = useDynaliteTables('shards');
const { newTable } = dynalite;

const t0 = Date.parse('2026-03-01T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

/** 120 customers; every seventh breaks the score constraint (quarantined). */
const rows = Array.from({ length: 120 }, (_, i) => ({
  customer_id: `C${String(i).padStart(3, '0')}`,
  score: i % 7 === 0 ? 500 : i % 100,
  tier: i % 3 === 0 ? null : 'gold',
  event_ts: iso(t0 - (i + 1) * 60_000),
}));

/**
 * Yields the rows of the query's shard (by the materializer's own hash) after its resume key,
 * in key order, in batches of 5; `fail(shard, attempt)` makes a shard's stream throw after its
 * first batch, as an engine or a network failing mid-stream would.
 */
function shardedSource(fail: (shard: number, attempt: number) => boolean = () => false) {
  const queries: LatestRowsQuery[] = [];
  const attempts = new Map<number, number>();
  const source: RowSource & { queries: LatestRowsQuery[] } = {
    queries,
    async *latestRows(query) {
      queries.push(query);
      const shard = query.shard?.index ?? 0;
      const attempt = (attempts.get(shard) ?? 0) + 1;
      attempts.set(shard, attempt);
      const left = rows.filter(
        (row) =>
          (!query.shard || shardOfKey([row.customer_id], query.shard.count) === shard) &&
          (!query.afterKey || row.customer_id > String(query.afterKey[0])),
      );
      for (let i = 0; i < left.length; i += 5) {
        if (i > 0 && fail(shard, attempt)) throw new Error(`shard ${shard} stream broke`);
        await new Promise((resolve) => setImmediate(resolve));
        yield left.slice(i, i + 5);
      }
    },
  };
  return source;
}

function run(registry: Registry, table: string, extra: Partial<MaterializeViewOptions> = {}) {
  return materializeView({
    registry,
    view: 'profile',
    client: dynalite.client,
    table,
    source: shardedSource(),
    quarantine: memoryQuarantine().sink,
    owner: 'owner-1',
    now: () => t0,
    chunkRows: 4,
    sleep: async () => undefined,
    ...extra,
  });
}

async function items(table: string) {
  const { Items } = await dynalite.client.send(new ScanCommand({ TableName: table }));
  return (Items ?? [])
    .filter((item) => !item.pk?.S?.startsWith('~'))
    .map((item) => JSON.stringify(item))
    .sort();
}

describe('a sharded materialization run', () => {
  it('writes the same items, counts and watermark as one writer, every shard checkpointed', async () => {
    const registry = profileRegistry();
    const [one, four] = [await newTable(), await newTable()];
    const single = await run(registry, one);
    const source = shardedSource();
    const quarantine = memoryQuarantine();
    const sharded = await run(registry, four, { shards: 4, source, quarantine: quarantine.sink });
    expect(await items(four)).toEqual(await items(one));
    expect((await items(four)).length).toBeGreaterThan(100);
    expect(sharded.counts).toEqual(single.counts);
    expect(sharded.watermark).toBe(single.watermark);
    expect(sharded.newestEventTs).toBe(single.newestEventTs);
    expect(sharded.shards).toEqual({ count: 4, ran: [0, 1, 2, 3], alreadyDone: [] });
    expect(quarantine.rows).toHaveLength(single.counts.rejected);
    expect(source.queries.map((q) => q.shard)).toEqual(
      [0, 1, 2, 3].map((index) => ({ index, count: 4 })),
    );
    const state = await stateOf(dynalite.client, four, registry);
    expect(state.checkpoint).toBeUndefined();
    expect(state.lastRun?.status).toBe('succeeded');
    // A finished run's shard checkpoints are removed with it.
    expect(await new ShardStateStore(dynalite.client, four, keyPrefixOf(registry)).read()).toEqual(
      {},
    );
  });

  it('retries a failed shard alone, from its own checkpoint, and succeeds', async () => {
    const registry = profileRegistry();
    const table = await newTable();
    const source = shardedSource((shard, attempt) => shard === 2 && attempt === 1);
    const result = await run(registry, table, { shards: 4, source });
    expect(result.status).toBe('succeeded');
    const shard2 = source.queries.filter((q) => q.shard?.index === 2);
    expect(shard2).toHaveLength(2);
    expect(shard2[1]?.afterKey).toBeDefined();
    expect(source.queries.filter((q) => q.shard?.index !== 2)).toHaveLength(3);
    expect(result.counts.rowsRead).toBe(rows.length);
  });

  it('keeps the watermark when a shard fails on every attempt; a rerun writes only that shard and moves it', async () => {
    const registry = profileRegistry();
    const table = await newTable();
    const failing = shardedSource((shard) => shard === 1);
    await expect(run(registry, table, { shards: 4, source: failing })).rejects.toThrow(
      'shard 1 stream broke',
    );
    expect(failing.queries.filter((q) => q.shard?.index === 1)).toHaveLength(3);
    const failed = await stateOf(dynalite.client, table, registry);
    expect(failed.watermark).toBeUndefined();
    expect(failed.checkpoint?.counts.rowsRead).toBe(failed.lastRun?.counts.rowsRead);
    expect(failed.checkpoint?.counts.rowsRead).toBeGreaterThan(80);
    expect(failed.lastRun?.status).toBe('failed');
    expect(failed.lease).toBeUndefined();
    const shards = await new ShardStateStore(dynalite.client, table, keyPrefixOf(registry)).read();
    expect([0, 1, 2, 3].map((s) => shards[s]?.done ?? false)).toEqual([true, false, true, true]);

    const healthy = shardedSource();
    const rerun = await run(registry, table, { shards: 4, source: healthy, owner: 'owner-2' });
    expect(rerun.status).toBe('succeeded');
    expect(rerun.resumed).toBe(true);
    expect(rerun.shards).toEqual({ count: 4, ran: [1], alreadyDone: [0, 2, 3] });
    expect(healthy.queries).toHaveLength(1);
    expect(healthy.queries[0]?.afterKey).toEqual(shards[1]?.afterKey);
    expect(rerun.counts.rowsRead).toBe(rows.length);
    expect(rerun.watermark).toBe(iso(t0));
    const one = await newTable();
    await run(registry, one);
    expect(await items(table)).toEqual(await items(one));
  });

  it('resumes a stopped run with the shard count it started with', async () => {
    const registry = profileRegistry();
    const table = await newTable();
    let checkpoints = 0;
    const paused = await run(registry, table, {
      shards: 4,
      shouldPause: () => ++checkpoints > 3,
    });
    expect(paused.status).toBe('paused');
    expect((await stateOf(dynalite.client, table, registry)).watermark).toBeUndefined();
    const resumed = await run(registry, table, { shards: 2 });
    expect(resumed.status).toBe('succeeded');
    expect(resumed.shards?.count).toBe(4);
    expect(resumed.counts.rowsRead).toBe(rows.length);
  });

  it('starts a new sharded run without the shard checkpoints of an abandoned one', async () => {
    const registry = profileRegistry();
    const table = await newTable();
    let checkpoints = 0;
    await run(registry, table, { shards: 3, shouldPause: () => ++checkpoints > 2 });
    const full = await run(registry, table, { shards: 2, full: true });
    expect(full.status).toBe('succeeded');
    expect(full.resumed).toBe(false);
    expect(full.shards).toEqual({ count: 2, ran: [0, 1], alreadyDone: [] });
    expect(full.counts.rowsRead).toBe(rows.length);
  });

  it.each([0, -1, 1.5, 65])('refuses %s shards before it takes the lease', async (shards) => {
    const registry = profileRegistry();
    const table = await newTable();
    await expect(run(registry, table, { shards })).rejects.toThrow(
      'the shard count must be a whole number from 1 to 64',
    );
    expect(await stateOf(dynalite.client, table, registry)).toEqual({});
  });

  it('refuses a shard checkpoint from a run whose lease was taken over', async () => {
    const registry = profileRegistry();
    const table = await newTable();
    let checkpoints = 0;
    await run(registry, table, { shards: 2, shouldPause: () => ++checkpoints > 1 });
    const store = new ShardStateStore(dynalite.client, table, keyPrefixOf(registry));
    await expect(
      store.record('not-the-holder', 60_000, {
        runId: 'x',
        shard: 0,
        done: true,
        counts: { rowsRead: 0, written: 0, skippedAsOlder: 0, rejected: 0 },
      }),
    ).rejects.toBeInstanceOf(LeaseLostError);
  });
});
