import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { MaterializationStateStore } from '../../../lib/materialize/materialization-state.ts';
import { type ShardedCheckpoint, ShardStateStore } from '../../../lib/materialize/shard-state.ts';
import { summarizeShard } from '../../../lib/materialize/unload-manifest.ts';
import { UnloadedShardError } from '../../../lib/materialize/unloaded-shard-rows.ts';
import {
  StaleShardError,
  writeUnloadedShard,
} from '../../../lib/materialize/write-unloaded-shard.ts';
import { useDynaliteTables } from '../../helpers/dynalite-tables.ts';
import {
  keyPrefixOf,
  memoryQuarantine,
  profileRegistry,
} from '../../helpers/materialize-harness.ts';
import { scanEntityItems } from '../../helpers/online-items.ts';

const online = useDynaliteTables('unloaded-shard');

const registry = profileRegistry();
const keyPrefix = keyPrefixOf(registry);
const owner = 'sfn:exec-1';
const prefix = 'materialize/profile/run-1/exec-1/';
const s3 = new S3Client({ region: 'us-east-1' });
const s3Mock = mockClient(s3);
beforeEach(() => s3Mock.reset());

/** One UNLOAD line as Athena writes it from renderUnloadColumns: every value as text. */
const line = (id: string, score: number | null, ts = '2026-03-01 10:00:00.000', seq = 1) =>
  JSON.stringify({
    customer_id: id,
    ...(score === null ? {} : { score: String(score) }),
    tier: 'gold',
    event_ts: ts,
    fstore_seq: String(seq),
  });
const gz = (lines: string[]) => gzipSync(`${lines.join('\n')}\n`);
// What the SDK hands back in Node: a Readable (the reader needs nothing else of it).
const body = (bytes: Buffer) => Readable.from([bytes]) as never;

const shardFolder = `${prefix}fstore_shard=0/`;
/** The objects `serve` lists, which the run's poll recorded as its UNLOAD's output. */
let served: string[] = [];

/** Objects of shard 0 of the run, served by the mocked S3 over two listing pages. */
function serve(objects: Record<string, Buffer>, fail?: (key: string) => boolean) {
  const keys = Object.keys(objects).sort();
  served = keys;
  const gets: string[] = [];
  s3Mock
    .on(ListObjectsV2Command, { Prefix: shardFolder })
    .callsFake((input: { ContinuationToken?: string }) =>
      input.ContinuationToken === 'page-2'
        ? { Contents: keys.slice(1).map((k) => ({ Key: `${shardFolder}${k}`, Size: 10 })) }
        : {
            // A zero-byte folder marker, as consoles create, is not an UNLOAD object.
            Contents: [
              { Key: shardFolder, Size: 0 },
              ...keys.slice(0, 1).map((k) => ({ Key: `${shardFolder}${k}`, Size: 10 })),
            ],
            IsTruncated: true,
            NextContinuationToken: 'page-2',
          },
    );
  s3Mock.on(GetObjectCommand).callsFake((input: { Key: string }) => {
    const name = input.Key.slice(shardFolder.length);
    gets.push(name);
    if (fail?.(name)) throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
    return { Body: body(objects[name] as Buffer) };
  });
  return gets;
}

/** A sharded run of `shards` whose lease `owner` holds, as the run's start step leaves it. */
async function startRun(
  table: string,
  runId = 'run-1',
  shards = 2,
  holder = owner,
  unloadPrefix?: string,
  tiles = false,
) {
  const store = new MaterializationStateStore(online.client, table, keyPrefix);
  await store.acquire(holder, 60_000);
  const shardStore = new ShardStateStore(online.client, table, keyPrefix);
  const stale = Object.keys(await shardStore.read()).map(Number);
  await shardStore.start(
    holder,
    60_000,
    {
      runId,
      startedAt: '2026-03-02T00:00:00.000Z',
      window: { until: '2026-03-02T00:00:00.000Z' },
      backfill: false,
      scope: { kind: 'full', reason: 'first run' },
      counts: { rowsRead: 0, written: 0, skippedAsOlder: 0, rejected: 0 },
      shards,
      ...(unloadPrefix ? { unloadPrefix } : {}),
      ...(tiles ? { tiles: true } : {}),
    },
    stale,
  );
}

/** What the controller's poll records once the UNLOAD succeeded: the served objects of shard 0. */
async function recordServed(table: string) {
  const store = new MaterializationStateStore(online.client, table, keyPrefix);
  const { checkpoint, lease } = await store.read();
  if (!checkpoint || !lease) return;
  const objects = served.map((name) => ({ key: `${shardFolder}${name}`, size: 10 }));
  const unloaded = {
    prefix,
    recordedAt: '2026-03-02T00:05:00.000Z',
    shards: { 0: summarizeShard(shardFolder, objects), 1: summarizeShard('none/', []) },
  };
  const recorded: ShardedCheckpoint = { ...(checkpoint as ShardedCheckpoint), unloaded };
  await store.checkpoint(lease.owner, 60_000, recorded);
}

function write(table: string, extra: Partial<Parameters<typeof writeUnloadedShard>[0]> = {}) {
  const quarantine = memoryQuarantine();
  const run = recordServed(table).then(() =>
    writeUnloadedShard({
      registry,
      view: 'profile',
      runId: 'run-1',
      owner,
      shard: 0,
      dynamo: online.client,
      table,
      s3,
      bucket: 'offline',
      unloadPrefix: prefix,
      quarantine: (r) => quarantine.sink(r),
      leaseMs: 60_000,
      chunkRows: 2,
      ...extra,
    }),
  );
  return { run, quarantine };
}

const shardZero = async (table: string) =>
  (await new ShardStateStore(online.client, table, keyPrefix).read())[0];

describe('the shard writer of a sharded run on AWS', () => {
  it('writes the rows of every gzip object over every listing page, quarantines constraint breakers, and marks the shard done', async () => {
    const table = await online.newTable();
    await startRun(table);
    const gets = serve({
      '0000_part_00.gz': gz([line('C1', 10), line('C2', 500)]),
      '0001_part_00.gz': gz([line('C3', 30), '', line('C4', null)]),
    });
    const { run, quarantine } = write(table);
    const result = await run;
    expect(result).toMatchObject({
      status: 'done',
      alreadyDone: false,
      counts: { rowsRead: 4, written: 3, skippedAsOlder: 0, rejected: 1 },
    });
    expect(gets).toEqual(['0000_part_00.gz', '0001_part_00.gz']);
    expect(quarantine.rows.map((r) => r.row.customer_id)).toEqual(['C2']);
    const items = await scanEntityItems(online.client, table);
    expect(items).toHaveLength(3);
    const c1 = items.find((i) => JSON.stringify(i).includes('C1')) as Record<
      string,
      { N?: string }
    >;
    expect(c1.event_ts?.N).toBe(String(Date.parse('2026-03-01T10:00:00Z') * 1000));
    expect(await shardZero(table)).toMatchObject({ runId: 'run-1', done: true });
  });

  it('keeps an item holding a newer row (the conditional rule), counting the older row as skipped', async () => {
    const table = await online.newTable();
    await startRun(table, 'run-0');
    serve({ '0000_part_00.gz': gz([line('C1', 10, '2026-03-01 12:00:00.000', 9)]) });
    await write(table, { runId: 'run-0' }).run;
    await new MaterializationStateStore(online.client, table, keyPrefix).releaseLease(owner);
    await startRun(table, 'run-1');
    s3Mock.reset();
    serve({ '0000_part_00.gz': gz([line('C1', 20, '2026-03-01 08:00:00.000', 2)]) });
    const result = await write(table).run;
    expect(result.counts).toMatchObject({ rowsRead: 1, written: 0, skippedAsOlder: 1 });
    const [item] = await scanEntityItems(online.client, table);
    expect(JSON.stringify(item)).toContain('"N":"10"');
  });

  it('resumes a retried attempt at its checkpoint’s object and line, reading nothing already written', async () => {
    const table = await online.newTable();
    await startRun(table);
    let broken = true;
    const gets = serve(
      {
        '0000_part_00.gz': gz([line('C1', 1), line('C2', 2), line('C3', 3)]),
        '0001_part_00.gz': gz([line('C4', 4)]),
      },
      (key) => key === '0001_part_00.gz' && broken,
    );
    await expect(write(table).run).rejects.toThrow('socket hang up');
    expect(await shardZero(table)).toMatchObject({
      done: false,
      afterObject: { object: `${prefix}fstore_shard=0/0000_part_00.gz`, line: 3, finished: true },
      counts: { rowsRead: 3 },
    });
    broken = false;
    gets.length = 0;
    const retried = await write(table).run;
    expect(gets).toEqual(['0001_part_00.gz']);
    expect(retried.counts).toMatchObject({ rowsRead: 4, written: 4 });
    expect(await scanEntityItems(online.client, table)).toHaveLength(4);
  });

  it('writes nothing for a shard an earlier attempt finished (a retry after a lost response)', async () => {
    const table = await online.newTable();
    await startRun(table);
    const gets = serve({ '0000_part_00.gz': gz([line('C1', 1)]) });
    await write(table).run;
    gets.length = 0;
    const again = await write(table).run;
    expect(again).toMatchObject({ status: 'done', alreadyDone: true, counts: { written: 1 } });
    expect(gets).toEqual([]);
    expect(s3Mock.commandCalls(ListObjectsV2Command)).toHaveLength(2);
  });

  it('pauses at a checkpoint when asked (near the Lambda timeout) and goes on from there', async () => {
    const table = await online.newTable();
    await startRun(table);
    serve({ '0000_part_00.gz': gz([line('C1', 1), line('C2', 2), line('C3', 3)]) });
    const paused = await write(table, { shouldPause: () => true }).run;
    expect(paused).toMatchObject({ status: 'paused', counts: { rowsRead: 2 } });
    const done = await write(table).run;
    expect(done).toMatchObject({ status: 'done', counts: { rowsRead: 3, written: 3 } });
  });

  it('refuses a shard of a run that is no longer the view’s current one, writing nothing', async () => {
    const table = await online.newTable();
    await startRun(table, 'run-2', 2, 'sfn:exec-2');
    serve({ '0000_part_00.gz': gz([line('C1', 1)]) });
    const failed = write(table).run;
    await expect(failed).rejects.toBeInstanceOf(StaleShardError);
    await expect(failed).rejects.toThrow("the view's current run is run-2 of sfn:exec-2");
    expect(await scanEntityItems(online.client, table)).toEqual([]);
    await expect(
      write(table, { runId: 'run-2', owner: 'sfn:exec-2', shard: 2 }).run,
    ).rejects.toThrow('has 2 shards; there is no shard 2');
  });

  it('refuses a map item naming another folder than the one its run unloaded to, writing nothing', async () => {
    const table = await online.newTable();
    await startRun(table, 'run-1', 2, owner, prefix);
    serve({ '0000_part_00.gz': gz([line('C1', 1)]) });
    const other = 'materialize/profile/run-0/exec-0/';
    await expect(write(table, { unloadPrefix: other }).run).rejects.toThrow(
      `was asked to read ${other}, but the run unloaded to ${prefix}; nothing was written`,
    );
    expect(await scanEntityItems(online.client, table)).toEqual([]);
    expect(await shardZero(table)).toBeUndefined();
    expect((await write(table).run).status).toBe('done');
    expect(await scanEntityItems(online.client, table)).toHaveLength(1);
  });

  it('refuses a damaged line, naming the object and line, leaving the shard unfinished', async () => {
    const table = await online.newTable();
    await startRun(table);
    serve({ '0000_part_00.gz': gz([line('C1', 1), line('C2', 2), '{"customer_id": "C3", tru']) });
    const failed = write(table).run;
    await expect(failed).rejects.toBeInstanceOf(UnloadedShardError);
    await expect(failed).rejects.toThrow(
      `s3://offline/${prefix}fstore_shard=0/0000_part_00.gz line 3 is not JSON`,
    );
    expect((await shardZero(table))?.done).not.toBe(true);
  });

  it('writes the rows and no tile base of a run planned with tiles whose view has none now (a deploy during the run), as a single run would', async () => {
    const table = await online.newTable();
    await startRun(table, 'run-1', 2, owner, undefined, true);
    serve({ '0000_part_00.gz': gz([line('C1', 10)]) });
    const { run } = write(table);
    const result = await run;
    expect(result).toMatchObject({ status: 'done', counts: { rowsRead: 1, written: 1 } });
    expect(result.tiles).toBeUndefined();
    expect(await shardZero(table)).toMatchObject({ done: true });
    expect((await shardZero(table))?.tiles).toBeUndefined();
  });
});
