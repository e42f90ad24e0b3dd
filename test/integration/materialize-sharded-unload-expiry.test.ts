import { gzipSync } from 'node:zlib';
import { Metrics } from '@aws-lambda-powertools/metrics';
import {
  AthenaClient,
  GetQueryExecutionCommand,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { readRunControllerConfig } from '../../lambdas/materialize-run/config.ts';
import { createRunControllerHandler } from '../../lambdas/materialize-run/handler.ts';
import { readShardWriterConfig } from '../../lambdas/materialize-shard/config.ts';
import { createShardWriterHandler } from '../../lambdas/materialize-shard/handler.ts';
import { type LocalDynamo, startDynalite } from '../../lib/local/dynalite-server.ts';
import { shardOfKey } from '../../lib/materialize/shard-plan.ts';
import { ShardStateStore } from '../../lib/materialize/shard-state.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { keyPrefixOf, profileRegistry, stateOf } from '../helpers/materialize-harness.ts';
import { scanEntityItems } from '../helpers/online-items.ts';
import {
  type MemoryBucket,
  memoryBucketClient,
  startMemoryBucket,
} from '../helpers/s3-memory-bucket.ts';

/**
 * UNLOAD output expires (the offline bucket's expire-materialize-unload rule) or is deleted
 * while a sharded run waits to be resumed: the controller and the shard writer, on dynalite and
 * a loopback S3 (Athena mocked: the test writes the UNLOAD's objects as Athena would), must
 * never read an emptied folder as shards of no rows, so the watermark never moves on it.
 */

const registry = profileRegistry();
const shards = 4;
const customers = Array.from({ length: 40 }, (_, i) => `C${String(i).padStart(2, '0')}`);
const athena = mockClient(AthenaClient);
let dynamo: LocalDynamo;
let bucket: MemoryBucket;
let client: DynamoDBClient;
let tables = 0;
beforeAll(async () => {
  dynamo = await startDynalite();
  bucket = await startMemoryBucket('offline');
  client = localDynamoClient(dynamo.endpoint);
});
afterAll(async () => {
  client.destroy();
  await bucket.close();
  await dynamo.close();
});
beforeEach(() => {
  athena.reset();
  bucket.objects.clear();
  let queries = 0;
  athena.on(StartQueryExecutionCommand).callsFake(() => ({ QueryExecutionId: `q-${++queries}` }));
  athena
    .on(GetQueryExecutionCommand)
    .resolves({ QueryExecution: { Status: { State: 'SUCCEEDED' } } });
});

/** What Athena's UNLOAD writes: each shard's rows in two gzip JSON-lines objects. */
function unload(prefix: string) {
  for (let shard = 0; shard < shards; shard++) {
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
    const half = Math.ceil(lines.length / 2);
    for (const [part, chunk] of [lines.slice(0, half), lines.slice(half)].entries())
      if (chunk.length > 0)
        bucket.objects.set(
          `${prefix}fstore_shard=${shard}/20261202_q_${part}.gz`,
          gzipSync(chunk.join('\n')),
        );
  }
}

/** The lifecycle rule (or a person) removing the objects under `prefix`. */
function expire(prefix: string) {
  for (const key of [...bucket.objects.keys()])
    if (key.startsWith(prefix)) bucket.objects.delete(key);
}

async function setUp() {
  const table = `unload-expiry-t${tables++}`;
  await ensureLocalTable(client, table);
  const s3 = memoryBucketClient(bucket);
  const metrics = () => {
    const m = new Metrics({ namespace: 'test', serviceName: 'materialize' });
    vi.spyOn(m, 'publishStoredMetrics').mockImplementation(() => m);
    return m;
  };
  const controller = createRunControllerHandler({
    registry,
    dynamo: client,
    athena: new AthenaClient({ region: 'us-east-1' }),
    s3,
    metrics: metrics(),
    config: readRunControllerConfig({
      TABLE_NAME: table,
      ATHENA_WORKGROUP: 'fstore-dev',
      ATHENA_DATABASE: 'fstore_dev',
      OFFLINE_BUCKET: 'offline',
      SHARDS: String(shards),
      MIN_ROWS: '1000000',
    }),
  });
  const writer = createShardWriterHandler({
    registry,
    dynamo: client,
    s3,
    metrics: metrics(),
    config: readShardWriterConfig({
      TABLE_NAME: table,
      OFFLINE_BUCKET: 'offline',
      CHUNK_ROWS: '2',
    }),
  });
  const context = (remainingMs = 600_000) =>
    ({
      getRemainingTimeInMillis: () => remainingMs,
      functionName: 'f',
      awsRequestId: 'r',
    }) as never;
  type Item = { view: string; runId: string; owner: string; shard: number; unloadPrefix: string };
  const step = (event: unknown) =>
    controller(event, context()) as Promise<Record<string, unknown> & { items: Item[] }>;
  const write = (item: Item, remainingMs?: number) =>
    writer(item, context(remainingMs)) as Promise<Record<string, unknown>>;
  /** The state machine up to the map: start, the UNLOAD (written here), the poll that records it. */
  async function startAndUnload(execution: string) {
    const started = await step({ action: 'start', view: 'profile', execution });
    const prefix = started.items[0]?.unloadPrefix as string;
    if (started.unload) {
      unload(prefix);
      const ref = { view: 'profile', runId: started.runId, owner: started.owner };
      const polled = await step({
        action: 'poll',
        queryExecutionId: started.queryExecutionId,
        ...ref,
      });
      expect(polled).toMatchObject({ state: 'SUCCEEDED', objects: 8 });
    }
    return {
      started,
      prefix,
      ref: { view: 'profile', runId: started.runId, owner: started.owner },
    };
  }
  return { table, step, write, startAndUnload };
}

describe('sharded runs whose UNLOAD output expired', () => {
  it('unloads again when a resumed run finds its folder expired, keeping the shards already done; the watermark moves only after every shard read the new output', async () => {
    const { table, step, write, startAndUnload } = await setUp();
    const first = await startAndUnload('exec-1');
    for (const item of first.started.items.slice(0, 2)) await write(item);
    await step({ action: 'fail', ...first.ref, error: 'shard 2: States.TaskFailed' });
    expire(first.prefix);

    const again = await step({ action: 'start', view: 'profile', execution: 'exec-2' });
    expect(again).toMatchObject({ resumed: true, runId: first.started.runId, unload: true });
    const starts = athena.commandCalls(StartQueryExecutionCommand);
    expect(starts).toHaveLength(2);
    const secondPrefix = `materialize-unload/profile/${first.started.runId}/exec-2/`;
    expect(starts[1]?.args[0].input.QueryString).toContain(`s3://offline/${secondPrefix}`);
    expect(starts[1]?.args[0].input.ClientRequestToken).toMatch(/-exec-20*$/);
    expect(again.items.every((item) => item.unloadPrefix === secondPrefix)).toBe(true);
    const between = await stateOf(client, table, registry);
    expect(between.watermark).toBeUndefined();
    // Done shards stay done; the others' positions were in the expired objects and are gone.
    const progress = await new ShardStateStore(client, table, keyPrefixOf(registry)).read();
    expect(Object.values(progress).map((p) => [p.shard, p.done])).toEqual([
      [0, true],
      [1, true],
    ]);

    // The map of exec-2 cannot start before its UNLOAD is recorded; then it reads the new folder.
    await expect(write(again.items[2] as never)).rejects.toThrow(
      'has no record of what its UNLOAD wrote',
    );
    unload(secondPrefix);
    await step({
      action: 'poll',
      queryExecutionId: again.queryExecutionId,
      view: 'profile',
      runId: again.runId,
      owner: again.owner,
    });
    const results = [];
    for (const item of again.items) results.push(await write(item));
    expect(results.map((r) => r.alreadyDone)).toEqual([true, true, false, false]);
    const finished = await step({
      action: 'finish',
      view: 'profile',
      runId: again.runId,
      owner: again.owner,
    });
    expect(finished).toMatchObject({ status: 'succeeded', counts: { rowsRead: 40 } });
    expect((await stateOf(client, table, registry)).watermark).toBeDefined();
    expect(await scanEntityItems(client, table)).toHaveLength(40);
  });

  it('reuses an earlier execution’s output that is still whole, with no second UNLOAD', async () => {
    const { step, write, startAndUnload } = await setUp();
    const first = await startAndUnload('exec-1');
    await write(first.started.items[0] as never);
    await step({ action: 'fail', ...first.ref, error: 'map failed' });
    const again = await step({ action: 'start', view: 'profile', execution: 'exec-2' });
    expect(again).toMatchObject({ resumed: true, unload: false });
    expect(again.items[0]?.unloadPrefix).toBe(first.prefix);
    expect(athena.commandCalls(StartQueryExecutionCommand)).toHaveLength(1);
  });

  it('unloads again when only one unfinished shard lost an object', async () => {
    const { step, startAndUnload } = await setUp();
    const first = await startAndUnload('exec-1');
    await step({ action: 'fail', ...first.ref, error: 'map failed' });
    bucket.objects.delete(`${first.prefix}fstore_shard=3/20261202_q_1.gz`);
    const again = await step({ action: 'start', view: 'profile', execution: 'exec-2' });
    expect(again).toMatchObject({ resumed: true, unload: true });
  });

  it('fails a shard whose objects expired while the map ran, clearly and without marking it done; finish then refuses and the watermark stays', async () => {
    const { table, step, write, startAndUnload } = await setUp();
    const { started, prefix, ref } = await startAndUnload('exec-1');
    for (const item of started.items.slice(0, 3)) await write(item);
    expire(`${prefix}fstore_shard=3/`);
    await expect(write(started.items[3] as never)).rejects.toThrow(
      new RegExp(
        `^s3://offline/${prefix}fstore_shard=3/ holds 0 of the 2 objects \\(0 of \\d+ bytes\\) the run's UNLOAD wrote`,
      ),
    );
    const progress = await new ShardStateStore(client, table, keyPrefixOf(registry)).read();
    expect(progress[3]).toBeUndefined();
    await expect(step({ action: 'finish', ...ref })).rejects.toThrow(
      '1 of 4 shards are not done (done: 0, 1, 2)',
    );
    expect((await stateOf(client, table, registry)).watermark).toBeUndefined();
  });

  it('names the object a paused shard stood in when it is gone at the next invocation', async () => {
    const { table, write, startAndUnload } = await setUp();
    const { started, prefix } = await startAndUnload('exec-1');
    const item = started.items[1] as never;
    // Less time left than the safety margin: the writer stops after its first checkpoint.
    expect(await write(item, 30_000)).toMatchObject({ status: 'paused' });
    const stood = (await new ShardStateStore(client, table, keyPrefixOf(registry)).read())[1]
      ?.afterObject?.object;
    expect(stood).toBe(`${prefix}fstore_shard=1/20261202_q_0.gz`);
    bucket.objects.delete(stood as string);
    await expect(write(item)).rejects.toThrow(
      `the shard checkpoint names s3://offline/${stood}, which is not under s3://offline/${prefix}fstore_shard=1/ (expired by the lifecycle rule expire-materialize-unload, or deleted); nothing was written`,
    );
    const after = (await new ShardStateStore(client, table, keyPrefixOf(registry)).read())[1];
    expect(after?.done).toBe(false);
  });

  it('names an object that disappears between the listing and its read, writing no more', async () => {
    const { table, write, startAndUnload } = await setUp();
    const { started, prefix } = await startAndUnload('exec-1');
    const gone = `${prefix}fstore_shard=2/20261202_q_1.gz`;
    bucket.beforeRequest = (method, key) => {
      if (method === 'GET' && key === gone) bucket.objects.delete(gone);
      return undefined;
    };
    try {
      await expect(write(started.items[2] as never)).rejects.toThrow(
        `s3://offline/${gone}, an object of the run's UNLOAD, is gone`,
      );
    } finally {
      bucket.beforeRequest = undefined;
    }
    const after = (await new ShardStateStore(client, table, keyPrefixOf(registry)).read())[2];
    expect(after?.done).toBe(false);
  });
});
