import { Metrics } from '@aws-lambda-powertools/metrics';
import {
  AthenaClient,
  GetQueryExecutionCommand,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { readRunControllerConfig } from '../../lambdas/materialize-run/config.ts';
import { createRunControllerHandler } from '../../lambdas/materialize-run/handler.ts';
import { type LocalDynamo, startDynalite } from '../../lib/local/dynalite-server.ts';
import { ShardStateStore } from '../../lib/materialize/shard-state.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { keyPrefixOf, profileRegistry, stateOf } from '../helpers/materialize-harness.ts';

const registry = profileRegistry();
const athena = mockClient(AthenaClient);
const s3 = mockClient(S3Client);
let dynamo: LocalDynamo;
let tables = 0;
beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(() => dynamo.close());
beforeEach(() => {
  athena.reset();
  s3.reset();
  // No commit records under offline/_ingests/: the first run is full, its size unknown.
  s3.on(ListObjectsV2Command).resolves({ Contents: [] });
});

async function handler(env: Record<string, string> = {}) {
  const table = `run-handler-t${tables++}`;
  const client = localDynamoClient(dynamo.endpoint);
  await ensureLocalTable(client, table);
  const metrics = new Metrics({ namespace: 'fstore', serviceName: 'materialize' });
  const added = vi.spyOn(metrics, 'addMetric');
  vi.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => metrics);
  const run = createRunControllerHandler({
    registry,
    metrics,
    dynamo: client,
    athena: new AthenaClient({ region: 'us-east-1' }),
    s3: new S3Client({ region: 'us-east-1' }),
    config: readRunControllerConfig({
      TABLE_NAME: table,
      ATHENA_WORKGROUP: 'fstore-dev',
      ATHENA_DATABASE: 'fstore_dev',
      OFFLINE_BUCKET: 'offline',
      SHARDS: '8',
      MIN_ROWS: '1000000',
      ...env,
    }),
  });
  return {
    run: (event: unknown) => run(event, {} as never) as Promise<Record<string, unknown>>,
    client,
    table,
    metric: (name: string) => added.mock.calls.find((c) => c[0] === name)?.[2],
  };
}

describe('the materialize-run function (the steps around the Distributed Map)', () => {
  it('starts a run of unknown size as shards and its UNLOAD in the workgroup, once per execution', async () => {
    const { run, client, table } = await handler();
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
    const started = await run({ action: 'start', view: 'profile', execution: 'exec-1' });
    expect(started).toMatchObject({ mode: 'sharded', unload: true, queryExecutionId: 'q-1' });
    expect(started.unloadSql).toBeUndefined();
    expect(started.items).toHaveLength(8);
    const input = athena.commandCalls(StartQueryExecutionCommand)[0]?.args[0].input;
    expect(input?.WorkGroup).toBe('fstore-dev');
    expect(input?.QueryExecutionContext).toEqual({ Database: 'fstore_dev' });
    expect(input?.QueryString).toMatch(/^UNLOAD \(SELECT .* WITH \(format = 'JSON'/s);
    // Athena takes 32 to 128 characters; the run and the execution make it one per execution.
    expect(input?.ClientRequestToken).toMatch(new RegExp(`^${started.runId}-exec-10*$`));
    expect(input?.ClientRequestToken?.length).toBeGreaterThanOrEqual(32);
    expect((await stateOf(client, table, registry)).lease?.owner).toBe('sfn:exec-1');
  });

  it('reports the UNLOAD’s state for the state machine’s wait loop, with the reason of a failure', async () => {
    const { run } = await handler();
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
    const started = await run({ action: 'start', view: 'profile', execution: 'exec-1' });
    const ref = { view: 'profile', runId: started.runId, owner: 'sfn:exec-1' };
    athena
      .on(GetQueryExecutionCommand)
      .resolvesOnce({ QueryExecution: { Status: { State: 'RUNNING' } } })
      .resolvesOnce({
        QueryExecution: {
          Status: { State: 'FAILED', StateChangeReason: 'HIVE_PATH_ALREADY_EXISTS' },
          Statistics: { DataScannedInBytes: 42 },
        },
      });
    expect(await run({ action: 'poll', queryExecutionId: 'q-1', ...ref })).toEqual({
      queryExecutionId: 'q-1',
      state: 'RUNNING',
      dataScannedBytes: 0,
    });
    expect(await run({ action: 'poll', queryExecutionId: 'q-1', ...ref })).toMatchObject({
      state: 'FAILED',
      reason: 'HIVE_PATH_ALREADY_EXISTS',
      dataScannedBytes: 42,
    });
  });

  it('extends the run’s lease at every poll, so an UNLOAD longer than the lease keeps its run', async () => {
    const { run, client, table } = await handler({ LEASE_MS: '600000' });
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
    athena
      .on(GetQueryExecutionCommand)
      .resolves({ QueryExecution: { Status: { State: 'RUNNING' } } });
    const started = await run({ action: 'start', view: 'profile', execution: 'exec-1' });
    const ref = { view: 'profile', runId: started.runId, owner: 'sfn:exec-1' };
    const before = (await stateOf(client, table, registry)).lease?.expiresAt;
    await new Promise((resolve) => setTimeout(resolve, 20));
    await run({ action: 'poll', queryExecutionId: 'q-1', ...ref });
    const after = (await stateOf(client, table, registry)).lease?.expiresAt;
    expect(after).toBeDefined();
    expect(after).toBeGreaterThan(before ?? Number.POSITIVE_INFINITY);
  });

  it('refuses a poll of a run the view no longer runs, extending nothing', async () => {
    const { run, client, table } = await handler();
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
    const started = await run({ action: 'start', view: 'profile', execution: 'exec-1' });
    const before = await stateOf(client, table, registry);
    await expect(
      run({
        action: 'poll',
        queryExecutionId: 'q-1',
        view: 'profile',
        runId: started.runId,
        owner: 'sfn:exec-2',
      }),
    ).rejects.toThrow(/is not the view's current run/);
    expect(await stateOf(client, table, registry)).toEqual(before);
    expect(athena.commandCalls(GetQueryExecutionCommand)).toHaveLength(0);
  });

  it('plans a view without tiles with no records step, and refuses one for it, reading nothing', async () => {
    const { run } = await handler();
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
    const started = await run({ action: 'start', view: 'profile', execution: 'exec-1' });
    expect(started.tiles).toBe(false);
    const listed = s3.commandCalls(ListObjectsV2Command).length;
    await expect(
      run({ action: 'records', view: 'profile', runId: started.runId, owner: 'sfn:exec-1' }),
    ).rejects.toThrow(/profile is not tile-fed, so its shards read no commit records/);
    expect(s3.calls()).toHaveLength(listed);
  });

  it('answers the records step before the start of a view without tiles as done, reading nothing, and refuses a records step naming the run without its owner', async () => {
    const { run } = await handler();
    expect(await run({ action: 'records', view: 'profile' })).toMatchObject({
      done: true,
      skipped: 'not tile-fed',
    });
    expect(s3.calls()).toHaveLength(0);
    await expect(run({ action: 'records', view: 'profile', runId: 'r-1' })).rejects.toThrow(
      /names both the run and its owner, or neither/,
    );
  });

  it('finishes a run whose shards are all done, sending the metrics the view alarms read (service materialize)', async () => {
    const { run, client, table, metric } = await handler();
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
    const started = await run({ action: 'start', view: 'profile', execution: 'exec-1' });
    const shards = new ShardStateStore(client, table, keyPrefixOf(registry));
    const ref = { view: 'profile', runId: started.runId as string, owner: 'sfn:exec-1' };
    for (let shard = 0; shard < 8; shard++)
      await shards.record('sfn:exec-1', 60_000, {
        runId: ref.runId,
        shard,
        done: true,
        counts: { rowsRead: 5, written: 5, skippedAsOlder: 0, rejected: 0 },
        newestEventTs: '2026-03-01T10:00:00.000000Z',
      });
    const finished = await run({ action: 'finish', ...ref });
    expect(finished).toMatchObject({ status: 'succeeded', counts: { rowsRead: 40, written: 40 } });
    expect(metric('MaterializationSucceeded')).toBe(1);
    expect(metric('RowsWritten')).toBe(40);
    expect(metric('FreshnessLag')).toBeGreaterThan(0);
    expect((await stateOf(client, table, registry)).watermark).toBeDefined();
  });

  it('gives the lease back on fail, so the next execution resumes the run', async () => {
    const { run, client, table } = await handler();
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
    const started = await run({ action: 'start', view: 'profile', execution: 'exec-1' });
    const failed = await run({
      action: 'fail',
      view: 'profile',
      runId: started.runId,
      owner: 'sfn:exec-1',
      error: '{"Error":"States.TaskFailed"}',
    });
    expect(failed).toMatchObject({ status: 'failed', error: '{"Error":"States.TaskFailed"}' });
    const state = await stateOf(client, table, registry);
    expect(state.lease).toBeUndefined();
    expect(state.checkpoint?.runId).toBe(started.runId);
  });

  it.each([
    [
      { action: 'start', view: 'offline_only', execution: 'e' },
      'view must be an online feature view',
    ],
    [{ action: 'finish', view: 'profile', runId: 'r-1', owner: 'me' }, 'owner'],
    [{ action: 'drop', view: 'profile' }, 'action'],
    [{ action: 'poll' }, 'queryExecutionId'],
    [{ action: 'poll', queryExecutionId: 'q-1' }, 'view'],
  ])('refuses a step that is not one of its own (%j), changing nothing', async (event, field) => {
    const { run, client, table } = await handler();
    await expect(run(event)).rejects.toThrow(
      new RegExp(`^invalid materialize-run step .*${field}`),
    );
    expect(athena.calls()).toHaveLength(0);
    expect(await stateOf(client, table, registry)).toEqual({});
  });
});
