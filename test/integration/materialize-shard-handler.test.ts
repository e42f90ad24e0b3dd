import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { Metrics } from '@aws-lambda-powertools/metrics';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readShardWriterConfig } from '../../lambdas/materialize-shard/config.ts';
import { createShardWriterHandler } from '../../lambdas/materialize-shard/handler.ts';
import { type LocalDynamo, startDynalite } from '../../lib/local/dynalite-server.ts';
import { MaterializationStateStore } from '../../lib/materialize/materialization-state.ts';
import { ShardStateStore } from '../../lib/materialize/shard-state.ts';
import { summarizeShard, type UnloadedObject } from '../../lib/materialize/unload-manifest.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { hourlyProfileRegistry } from '../helpers/hourly-profile-registry.ts';
import { scanEntityItems } from '../helpers/online-items.ts';

const registry = hourlyProfileRegistry(
  { balance: 'int64', ratio: 'float64', tags: 'list<string>', active: 'bool' },
  { balance: 'int64', ratio: 'float64', tags: 'list<string>', active: 'bool' },
);
const keyPrefix = registry.featureViews[0]?.onlineStore.keyPrefix as string;
const owner = 'sfn:exec-7';
const unloadPrefix = 'materialize-unload/profile/run-7/exec-7/';
const s3 = mockClient(S3Client);

let dynamo: LocalDynamo;
const table = 'shard-handler';
beforeAll(async () => {
  dynamo = await startDynalite();
  await ensureLocalTable(localDynamoClient(dynamo.endpoint), table);
});
afterAll(() => dynamo.close());
beforeEach(() => s3.reset());

function handlerWith(now = Date.now) {
  const client = localDynamoClient(dynamo.endpoint);
  return createShardWriterHandler({
    registry,
    dynamo: client,
    s3: new S3Client({ region: 'us-east-1' }),
    config: readShardWriterConfig({
      TABLE_NAME: table,
      OFFLINE_BUCKET: 'offline',
      CHUNK_ROWS: '1',
    }),
    metrics: new Metrics({ namespace: 'test', serviceName: 'shard' }),
    now,
  });
}
const context = (remainingMs = 600_000) =>
  ({
    getRemainingTimeInMillis: () => remainingMs,
    functionName: 'shard',
    awsRequestId: 'r',
  }) as never;

const shard3 = `${unloadPrefix}fstore_shard=3/`;
const object3 = { key: `${shard3}20260302_part_00000.gz`, size: 90 };

/** A run of 4 shards whose UNLOAD the controller recorded as `unloaded` (shard 3 by default). */
async function startRun(unloaded: readonly UnloadedObject[] = [object3]) {
  const client = localDynamoClient(dynamo.endpoint);
  await new MaterializationStateStore(client, table, keyPrefix).acquire(owner, 60_000);
  await new ShardStateStore(client, table, keyPrefix).start(
    owner,
    60_000,
    {
      runId: 'run-7',
      startedAt: '2026-03-02T00:00:00.000Z',
      window: { until: '2026-03-02T00:00:00.000Z' },
      backfill: false,
      scope: { kind: 'full', reason: 'first run' },
      counts: { rowsRead: 0, written: 0, skippedAsOlder: 0, rejected: 0 },
      shards: 4,
      unloadPrefix,
      unloaded: {
        prefix: unloadPrefix,
        recordedAt: '2026-03-02T00:05:00.000Z',
        shards: Object.fromEntries(
          [0, 1, 2, 3].map((shard) => {
            const folder = `${unloadPrefix}fstore_shard=${shard}/`;
            return [
              shard,
              summarizeShard(
                folder,
                unloaded.filter((o) => o.key.startsWith(folder)),
              ),
            ];
          }),
        ),
      },
    },
    [0, 1, 2, 3],
  );
}

describe('the materialize-shard function', () => {
  it('writes values from the UNLOAD text as the single-Lambda path does: bigints past 2^53, doubles, lists, booleans', async () => {
    await startRun();
    const lines = [
      {
        customer_id: 'C1',
        balance: '9007199254740993',
        ratio: '1.5E-1',
        tags: '["a","b"]',
        active: 'true',
        event_ts: '2026-03-01 10:00:00.123',
        fstore_seq: '3',
      },
      {
        customer_id: 'C2',
        balance: '-4',
        ratio: '2.0E0',
        tags: '[]',
        active: 'false',
        event_ts: '2026-03-01 11:00:00.000',
        fstore_seq: '4',
      },
    ].map((line) => JSON.stringify(line));
    s3.on(ListObjectsV2Command).resolves({ Contents: [{ Key: object3.key, Size: object3.size }] });
    s3.on(GetObjectCommand).callsFake(() => ({
      Body: Readable.from([gzipSync(lines.join('\n'))]) as never,
    }));
    const response = await handlerWith()(
      { view: 'profile', runId: 'run-7', owner, shard: 3, unloadPrefix },
      context(),
    );
    expect(response).toMatchObject({
      shard: 3,
      status: 'done',
      counts: { rowsRead: 2, written: 2 },
    });
    expect(s3.commandCalls(ListObjectsV2Command)[0]?.args[0].input.Prefix).toBe(
      `${unloadPrefix}fstore_shard=3/`,
    );
    const c1 = (await scanEntityItems(localDynamoClient(dynamo.endpoint), table)).find((item) =>
      JSON.stringify(item).includes('C1'),
    ) as { f: { M: Record<string, unknown> }; event_ts: { N: string } };
    expect(c1.f.M).toEqual({
      balance: { N: '9007199254740993' },
      ratio: { N: '0.15' },
      tags: { L: [{ S: 'a' }, { S: 'b' }] },
      active: { BOOL: true },
    });
    expect(c1.event_ts.N).toBe(String(Date.parse('2026-03-01T10:00:00.123Z') * 1000));
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  it('refuses a shard whose UNLOAD objects expired, naming the folder and what is gone: no write, the shard not done', async () => {
    await startRun();
    s3.on(ListObjectsV2Command).resolves({ Contents: [] });
    const write = handlerWith()(
      { view: 'profile', runId: 'run-7', owner, shard: 3, unloadPrefix },
      context(),
    );
    await expect(write).rejects.toThrow(
      `s3://offline/${shard3} holds 0 of the 1 objects (0 of 90 bytes) the run's UNLOAD wrote (recorded 2026-03-02T00:05:00.000Z): they expired (lifecycle rule expire-materialize-unload) or were deleted or replaced; nothing was written`,
    );
    await expect(write).rejects.toMatchObject({
      name: 'UnloadedShardError',
      hint: expect.stringContaining('start the state machine again'),
    });
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
    const client = localDynamoClient(dynamo.endpoint);
    expect((await new ShardStateStore(client, table, keyPrefix).read())[3]).toBeUndefined();
  });

  it('refuses a shard folder whose objects were replaced (same count, other keys)', async () => {
    await startRun();
    s3.on(ListObjectsV2Command).resolves({
      Contents: [{ Key: `${shard3}20260309_part_00000.gz`, Size: 90 }],
    });
    await expect(
      handlerWith()({ view: 'profile', runId: 'run-7', owner, shard: 3, unloadPrefix }, context()),
    ).rejects.toThrow('holds 1 objects (90 bytes), not the 1 (90 bytes)');
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
  });

  it('finishes a shard no entity hashed into (the UNLOAD wrote nothing there) with 0 rows', async () => {
    await startRun();
    s3.on(ListObjectsV2Command).resolves({ Contents: [] });
    expect(
      await handlerWith()(
        { view: 'profile', runId: 'run-7', owner, shard: 1, unloadPrefix },
        context(),
      ),
    ).toMatchObject({ status: 'done', counts: { rowsRead: 0 } });
  });

  it.each([
    [
      { view: 'nope', runId: 'run-7', owner, shard: 0, unloadPrefix },
      'view must be an online feature view',
    ],
    [{ view: 'profile', runId: 'run-7', owner, shard: 64, unloadPrefix }, 'shard'],
    [
      {
        view: 'profile',
        runId: 'run-7',
        owner,
        shard: 0,
        unloadPrefix: 'materialize-unload/../offline/',
      },
      'unloadPrefix',
    ],
    [{ view: 'profile', runId: 'run-7', owner, shard: 0, unloadPrefix, extra: 1 }, 'extra'],
  ])(
    'refuses a map item that is not a shard of this deployment (%j), reading nothing',
    async (event, field) => {
      await expect(handlerWith()(event as never, context())).rejects.toThrow(
        new RegExp(`^invalid shard event .*${field}`),
      );
      expect(s3.calls()).toHaveLength(0);
    },
  );
});
