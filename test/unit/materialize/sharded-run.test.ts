import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { stateKey } from '../../../lib/materialize/materialization-state-key.ts';
import { shardOfKey } from '../../../lib/materialize/shard-plan.ts';
import { ShardStateStore } from '../../../lib/materialize/shard-state.ts';
import {
  failShardedRun,
  finishShardedRun,
  recordShardedUnload,
  type ShardedRunDependencies,
  type StartedRun,
  startShardedRun,
} from '../../../lib/materialize/sharded-run.ts';
import { writeUnloadedShard } from '../../../lib/materialize/write-unloaded-shard.ts';
import { athenaDialect } from '../../../lib/sql/athena-dialect.ts';
import { useDynaliteTables } from '../../helpers/dynalite-tables.ts';
import {
  ingestLog,
  keyPrefixOf,
  memoryQuarantine,
  profileRegistry,
  stateOf,
} from '../../helpers/materialize-harness.ts';
import { scanEntityItems } from '../../helpers/online-items.ts';

const dynalite = useDynaliteTables('sharded-run');

const registry = profileRegistry();
const keyPrefix = keyPrefixOf(registry);
const s3 = new S3Client({ region: 'us-east-1' });
const s3Mock = mockClient(s3);
beforeEach(() => s3Mock.reset());
const t0 = Date.parse('2026-03-02T00:00:00Z');

/** 40 customers' newest rows, as the UNLOAD writes them (text values), split by shard. */
const customers = Array.from({ length: 40 }, (_, i) => `C${String(i).padStart(2, '0')}`);
function serveUnload(prefix: string, shards: number) {
  s3Mock.on(ListObjectsV2Command).callsFake((input: { Prefix: string }) => {
    const folders = /fstore_shard=\d+\/$/.test(input.Prefix)
      ? [input.Prefix]
      : Array.from({ length: shards }, (_, shard) => `${input.Prefix}fstore_shard=${shard}/`);
    return {
      Contents: folders.map((folder) => ({ Key: `${folder}part-0.gz`, Size: 50 })),
      IsTruncated: false,
    };
  });
  s3Mock.on(GetObjectCommand).callsFake((input: { Key: string }) => {
    expect(input.Key.startsWith(prefix)).toBe(true);
    const shard = Number(/fstore_shard=(\d+)\//.exec(input.Key)?.[1]);
    const lines = customers
      .filter((id) => shardOfKey([id], shards) === shard)
      .map((id) =>
        JSON.stringify({
          customer_id: id,
          score: '7',
          tier: 'gold',
          event_ts: '2026-03-01 10:00:00.000',
          fstore_seq: '1',
        }),
      );
    return { Body: Readable.from([gzipSync(lines.join('\n'))]) as never };
  });
}

async function setUp(snapshotRows = 5000) {
  const table = await dynalite.newTable();
  const deps: ShardedRunDependencies = {
    registry,
    dynamo: dynalite.client,
    table,
    s3,
    bucket: 'offline',
    dialect: athenaDialect('fstore_dev'),
    ingests: ingestLog([
      { ingestId: 'i1', firstSeq: 1, rows: snapshotRows, committedAtMs: t0 - 3_600_000 },
    ]),
    leaseMs: 60_000,
    now: () => t0,
  };
  return { table, deps };
}

const start = (deps: ShardedRunDependencies, execution = 'exec-1', extra = {}) =>
  startShardedRun(deps, { view: 'profile', execution, shards: 4, minRows: 1000, ...extra });

async function writeShard(
  deps: ShardedRunDependencies,
  item: Extract<StartedRun, { mode: 'sharded' }>['items'][number],
) {
  return writeUnloadedShard({
    registry,
    ...item,
    dynamo: dynalite.client,
    table: deps.table,
    s3,
    bucket: 'offline',
    quarantine: (run) => memoryQuarantine().sink(run),
    leaseMs: 60_000,
  });
}

describe('a sharded materialization run on AWS (the state machine’s steps)', () => {
  it('plans a large first run as shards behind one UNLOAD, under the execution’s lease', async () => {
    const { table, deps } = await setUp();
    const started = await start(deps);
    expect(started).toMatchObject({
      mode: 'sharded',
      owner: 'sfn:exec-1',
      resumed: false,
      estimatedRows: 5000,
    });
    if (started.mode !== 'sharded') throw new Error('not sharded');
    const prefix = `materialize-unload/profile/${started.runId}/exec-1/`;
    expect(started.items.map((i) => i.shard)).toEqual([0, 1, 2, 3]);
    expect(started.items.every((i) => i.unloadPrefix === prefix && i.owner === 'sfn:exec-1')).toBe(
      true,
    );
    expect(started.unloadSql).toContain(`TO 's3://offline/${prefix}' WITH (format = 'JSON'`);
    expect(started.unloadSql).toContain('% 4 AS fstore_shard');
    const state = await stateOf(dynalite.client, table, registry);
    expect(state.lease?.owner).toBe('sfn:exec-1');
    expect(state.checkpoint).toMatchObject({
      runId: started.runId,
      shards: 4,
      unloadPrefix: prefix,
    });
  });

  it('hands a run estimated under the threshold to the single materializer, leaving the lease free', async () => {
    const { table, deps } = await setUp(200);
    expect(await start(deps)).toEqual({
      mode: 'single',
      view: 'profile',
      full: false,
      estimatedRows: 200,
    });
    const state = await stateOf(dynalite.client, table, registry);
    expect(state.lease).toBeUndefined();
    expect(state.checkpoint).toBeUndefined();
  });

  it('moves the watermark and coverage only when every shard is done, with the shards’ counts summed', async () => {
    const { table, deps } = await setUp();
    const started = await start(deps);
    if (started.mode !== 'sharded') throw new Error('not sharded');
    serveUnload(started.items[0]?.unloadPrefix as string, 4);
    await recordShardedUnload(deps, started);
    const [first, ...rest] = started.items;
    await writeShard(deps, first as never);
    const ref = { view: 'profile', runId: started.runId, owner: started.owner };
    await expect(finishShardedRun(deps, ref)).rejects.toThrow(
      '3 of 4 shards are not done (done: 0)',
    );
    expect((await stateOf(dynalite.client, table, registry)).watermark).toBeUndefined();
    for (const item of rest) await writeShard(deps, item);
    const run = await finishShardedRun(deps, ref);
    expect(run).toMatchObject({ status: 'succeeded', counts: { rowsRead: 40, written: 40 } });
    const state = await stateOf(dynalite.client, table, registry);
    expect(state.watermark).toBe(new Date(t0).toISOString());
    expect(state.ingests).toBeDefined();
    expect(state.lease).toBeUndefined();
    expect(state.checkpoint).toBeUndefined();
    expect(await new ShardStateStore(dynalite.client, table, keyPrefix).read()).toEqual({});
    expect(await scanEntityItems(dynalite.client, table)).toHaveLength(40);
  });

  it('removes the tile base mark when a view without tiles finishes (onlineTiles removed): its run planned no bases, so a view that gains tiles again is backfilled', async () => {
    const { table, deps } = await setUp();
    const started = await start(deps);
    if (started.mode !== 'sharded') throw new Error('not sharded');
    await dynalite.client.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { pk: { S: stateKey(keyPrefix) } },
        UpdateExpression: 'SET tile_bases = :t',
        ExpressionAttributeValues: { ':t': { BOOL: true } },
      }),
    );
    expect((await stateOf(dynalite.client, table, registry)).tileBases).toBe(true);
    serveUnload(started.items[0]?.unloadPrefix as string, 4);
    await recordShardedUnload(deps, started);
    for (const item of started.items) await writeShard(deps, item);
    await finishShardedRun(deps, { view: 'profile', runId: started.runId, owner: started.owner });
    expect((await stateOf(dynalite.client, table, registry)).tileBases).toBeUndefined();
  });

  it('after a failed shard, gives the lease back; the next execution resumes without a second UNLOAD and writes only the unfinished shards', async () => {
    const { table, deps } = await setUp();
    const started = await start(deps);
    if (started.mode !== 'sharded') throw new Error('not sharded');
    serveUnload(started.items[0]?.unloadPrefix as string, 4);
    await recordShardedUnload(deps, started);
    for (const item of started.items.slice(0, 3)) await writeShard(deps, item);
    const failed = await failShardedRun(deps, {
      view: 'profile',
      runId: started.runId,
      owner: started.owner,
      error: 'shard 3: States.TaskFailed',
    });
    expect(failed.status).toBe('failed');
    const between = await stateOf(dynalite.client, table, registry);
    expect(between.lease).toBeUndefined();
    expect(between.lastRun).toMatchObject({
      status: 'failed',
      error: 'shard 3: States.TaskFailed',
    });
    expect(between.watermark).toBeUndefined();

    const again = await start(deps, 'exec-2');
    if (again.mode !== 'sharded') throw new Error('not sharded');
    expect(again).toMatchObject({ runId: started.runId, owner: 'sfn:exec-2', resumed: true });
    expect(again.unloadSql).toBeUndefined();
    expect(again.items[0]?.unloadPrefix).toBe(started.items[0]?.unloadPrefix);
    const results = [];
    for (const item of again.items) results.push(await writeShard(deps, item));
    expect(results.map((r) => r.alreadyDone)).toEqual([true, true, true, false]);
    await finishShardedRun(deps, { view: 'profile', runId: again.runId, owner: again.owner });
    expect((await stateOf(dynalite.client, table, registry)).watermark).toBe(
      new Date(t0).toISOString(),
    );
  });

  it('unloads again when the execution that failed never finished its UNLOAD (no shard had started)', async () => {
    const { deps } = await setUp();
    const started = await start(deps);
    if (started.mode !== 'sharded') throw new Error('not sharded');
    await failShardedRun(deps, {
      view: 'profile',
      runId: started.runId,
      owner: started.owner,
      error: 'UNLOAD failed',
    });
    const again = await start(deps, 'exec-2');
    if (again.mode !== 'sharded') throw new Error('not sharded');
    expect(again.unloadSql).toContain(`materialize-unload/profile/${started.runId}/exec-2/`);
  });

  it('refuses a step of a run that is no longer current, and bad shard counts or execution names, changing nothing', async () => {
    const { table, deps } = await setUp();
    await expect(start(deps, 'exec-1', { shards: 1 })).rejects.toThrow('needs 2 to 64 shards');
    await expect(start(deps, 'exec 1')).rejects.toThrow('is not a Step Functions execution name');
    expect((await stateOf(dynalite.client, table, registry)).lease).toBeUndefined();
    const started = await start(deps);
    if (started.mode !== 'sharded') throw new Error('not sharded');
    await expect(
      finishShardedRun(deps, { view: 'profile', runId: started.runId, owner: 'sfn:other' }),
    ).rejects.toThrow('is not the view');
    await expect(start(deps, 'exec-3')).rejects.toThrow(
      'another materialization of this view is running',
    );
  });
});
