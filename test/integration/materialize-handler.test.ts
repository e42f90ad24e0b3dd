import { Metrics } from '@aws-lambda-powertools/metrics';
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readMaterializeConfig } from '../../lambdas/materialize/config.ts';
import {
  createMaterializeHandler,
  type MaterializeContext,
} from '../../lambdas/materialize/handler.ts';
import { startDynalite } from '../../lib/local/dynalite-server.ts';
import { MaterializationStateStore } from '../../lib/materialize/materialization-state.ts';
import { lookupFeatures } from '../../lib/online/online-lookup.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { hourlyProfileRegistry } from '../helpers/hourly-profile-registry.ts';
import { countingClient } from '../helpers/online-items.ts';

const registry = hourlyProfileRegistry(
  { score: 'int64', tags: 'list<string>', active: 'bool' },
  { score: { type: 'int64', max: 100 }, tags: 'list<string>', active: 'bool' },
);
const view = registry.featureViews[0];
const m = Date.parse('2026-03-01T00:00:00Z');

const athena = mockClient(AthenaClient);
const s3 = mockClient(S3Client);
const lambda = mockClient(LambdaClient);
const columns = {
  // The types Athena reports for the materialization query's columns (lists as JSON text).
  ColumnInfo: [
    ['customer_id', 'varchar'],
    ['score', 'bigint'],
    ['tags', 'varchar'],
    ['active', 'boolean'],
    ['event_ts', 'timestamp'],
    ['created_ts', 'timestamp'],
    ['fstore_seq', 'bigint'],
  ].map(([Name, Type]) => ({ Name, Type })),
};
const cells = (...values: (string | undefined)[]) => ({
  Data: values.map((v) => (v === undefined ? {} : { VarCharValue: v })),
});
const header = cells(
  'customer_id',
  'score',
  'tags',
  'active',
  'event_ts',
  'created_ts',
  'fstore_seq',
);
const dataRow = (id: string, score: number) =>
  cells(id, String(score), '["a","b, c"]', 'true', '2026-02-28 12:00:00.000', undefined, '7');

function context(remaining: () => number): MaterializeContext {
  return {
    functionName: 'fstore-dev-materialize',
    awsRequestId: `req-${Math.random()}`,
    getRemainingTimeInMillis: remaining,
  };
}

describe('materialize Lambda (Athena mocked, DynamoDB on dynalite)', () => {
  let server: Awaited<ReturnType<typeof startDynalite>>;
  let dynamo: ReturnType<typeof localDynamoClient>;
  let tables = 0;
  let table = '';
  let clock = m;
  const handlerFor = (
    tableName: string,
    env: Record<string, string> = {},
    client: ReturnType<typeof localDynamoClient> = dynamo,
  ) =>
    createMaterializeHandler({
      registry,
      dynamo: client,
      athena: new AthenaClient({ region: 'eu-west-1' }),
      s3: new S3Client({ region: 'eu-west-1' }),
      lambda: new LambdaClient({ region: 'eu-west-1' }),
      config: readMaterializeConfig({
        TABLE_NAME: tableName,
        ATHENA_WORKGROUP: 'fstore-dev',
        ATHENA_DATABASE: 'fstore_dev',
        OFFLINE_BUCKET: 'offline-bucket',
        ...env,
      }),
      metrics: new Metrics({ namespace: 'fstore-test', serviceName: 'materialize' }),
      now: () => clock,
      sleep: async () => {},
    });

  beforeAll(async () => {
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    server = await startDynalite();
    dynamo = localDynamoClient(server.endpoint);
  });
  afterAll(async () => {
    dynamo.destroy();
    await server.close();
  });
  beforeEach(async () => {
    athena.reset();
    s3.reset();
    lambda.reset();
    clock = m;
    s3.on(ListObjectsV2Command).resolves({ Contents: [] });
    table = `fstore-h${tables++}-online`;
    await ensureLocalTable(dynamo, table);
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q1' });
    athena
      .on(GetQueryExecutionCommand)
      .resolves({ QueryExecution: { Status: { State: 'SUCCEEDED' } } });
  });

  it('reads every page of the Athena result and writes typed items the lookup serves', async () => {
    athena
      .on(GetQueryResultsCommand)
      .resolvesOnce({
        ResultSet: { ResultSetMetadata: columns, Rows: [header, dataRow('C1', 10)] },
        NextToken: 'p2',
      })
      .resolvesOnce({
        ResultSet: { ResultSetMetadata: columns, Rows: [dataRow('C2', 20), dataRow('C3', 30)] },
      });
    const result = await handlerFor(table)({ view: 'profile' }, context(() => 600_000) as never);
    expect(result).toMatchObject({
      status: 'succeeded',
      counts: { rowsRead: 3, written: 3, rejected: 0 },
    });
    expect(
      athena.commandCalls(GetQueryResultsCommand).map((c) => c.args[0].input.NextToken),
    ).toEqual([undefined, 'p2']);
    const sql = athena.commandCalls(StartQueryExecutionCommand)[0]?.args[0].input.QueryString ?? '';
    expect(sql).toContain('ORDER BY "customer_id"');
    expect(sql).toContain('json_format(CAST("tags" AS JSON))');
    const [c2] = await lookupFeatures(
      dynamo,
      table,
      registry,
      {
        views: [
          {
            view: 'profile',
            features: ['score', 'tags', 'active'].map((f) => ({ feature: f, outputName: f })),
          },
        ],
        entities: [{ customer_id: 'C2' }],
      },
      { now: () => m },
    );
    expect([c2?.score?.value, c2?.tags?.value, c2?.active?.value]).toEqual([
      20,
      ['a', 'b, c'],
      true,
    ]);
  });

  it('fails the invocation on an Athena query failure, records it, and releases the lease', async () => {
    athena.on(GetQueryExecutionCommand).resolves({
      QueryExecution: { Status: { State: 'FAILED', StateChangeReason: 'TABLE_NOT_FOUND: events' } },
    });
    await expect(
      handlerFor(table)({ view: 'profile' }, context(() => 600_000) as never),
    ).rejects.toThrow('TABLE_NOT_FOUND');
    const state = await new MaterializationStateStore(
      dynamo,
      table,
      view?.onlineStore.keyPrefix as string,
    ).read();
    expect(state.lastRun?.status).toBe('failed');
    expect(state.lastRun?.error).toContain('TABLE_NOT_FOUND');
    expect(state.lease).toBeUndefined();
    expect(state.watermark).toBeUndefined();
  });

  it('stops near the timeout with a checkpoint, invokes itself, and the follow-up resumes after the last key', async () => {
    const rows = Array.from({ length: 30 }, (_, i) => dataRow(`C${String(i).padStart(2, '0')}`, i));
    athena
      .on(GetQueryResultsCommand)
      .resolvesOnce({ ResultSet: { ResultSetMetadata: columns, Rows: [header, ...rows] } })
      .resolves({ ResultSet: { ResultSetMetadata: columns, Rows: [header, ...rows.slice(10)] } });
    // Time runs out once the first chunk of 10 rows is written.
    let puts = 0;
    const counting = new Proxy(dynamo, {
      get(target, property, receiver) {
        if (property !== 'send') return Reflect.get(target, property, receiver);
        return async (command: { constructor: { name: string } }) => {
          const output = await target.send(command as never);
          if (command.constructor.name === 'PutItemCommand') puts += 1;
          return output;
        };
      },
    });
    const handler = handlerFor(table, { SAFETY_MARGIN_MS: '60000', CHUNK_ROWS: '10' }, counting);
    const first = await handler(
      { view: 'profile' },
      context(() => (puts >= 10 ? 30_000 : 600_000)) as never,
    );
    expect(first).toMatchObject({ status: 'paused', continuedIn: 1, counts: { written: 10 } });
    const invoke = lambda.commandCalls(InvokeCommand)[0]?.args[0].input;
    expect(invoke?.FunctionName).toBe('fstore-dev-materialize');
    expect(invoke?.InvocationType).toBe('Event');
    expect(JSON.parse(new TextDecoder().decode(invoke?.Payload as Uint8Array))).toEqual({
      view: 'profile',
      continuation: 1,
    });

    const second = await handler(
      { view: 'profile', continuation: 1 },
      context(() => 600_000) as never,
    );
    expect(second).toMatchObject({ status: 'succeeded', counts: { rowsRead: 30, written: 30 } });
    const resumedSql = athena.commandCalls(StartQueryExecutionCommand)[1]?.args[0].input
      .QueryString;
    expect(resumedSql).toContain(`("customer_id" > 'C09')`);
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(1);
  });

  it('keeps the ingests it covered in the state: the next invocation reads only new records and queries only their rows', async () => {
    const sha = 'a'.repeat(64);
    const record = (ingestId: string, firstSeq: number, rows: number, day: string) => ({
      key: `offline/_ingests/events/${sha}/${ingestId}.json`,
      body: JSON.stringify({
        ingestId,
        source: 'events',
        file: 'x.csv',
        sha256: sha,
        rows,
        firstSeq,
        at: '2026-03-01T00:00:00.000Z',
        files: [`offline/events/dt=${day}/${ingestId}-0.parquet`],
      }),
    });
    const first = record('20260301t000000-0000000a', 100, 5, '2026-02-27');
    // On S3 sequence numbers are milliseconds × 2^20 (past 2^53; the range end is exact).
    const seq = 1_772_326_800_000 * 1_048_576;
    const second = record('20260301t010000-0000000b', seq, 3, '2026-02-28');
    const listing = (...records: { key: string; at: number }[]) =>
      s3.on(ListObjectsV2Command, { Prefix: 'offline/_ingests/events/' }).resolves({
        Contents: records.map((r) => ({ Key: r.key, LastModified: new Date(r.at) })),
      });
    for (const r of [first, second])
      s3.on(GetObjectCommand, { Key: r.key }).resolves({
        Body: { transformToString: async () => r.body } as never,
      });
    athena.on(GetQueryResultsCommand).resolves({
      ResultSet: { ResultSetMetadata: columns, Rows: [header, dataRow('C1', 10)] },
    });
    const handler = handlerFor(table);
    const sqlOf = (n: number) =>
      athena.commandCalls(StartQueryExecutionCommand)[n]?.args[0].input.QueryString ?? '';

    listing({ key: first.key, at: m - 3_600_000 });
    expect(await handler({ view: 'profile' }, context(() => 600_000) as never)).toMatchObject({
      status: 'succeeded',
      scope: { kind: 'full', reason: 'first run' },
    });
    expect(sqlOf(0)).not.toContain('fstore_seq BETWEEN');

    clock = m + 3_600_000;
    listing({ key: first.key, at: m - 3_600_000 }, { key: second.key, at: m + 1_800_000 });
    s3.resetHistory();
    expect(await handler({ view: 'profile' }, context(() => 600_000) as never)).toMatchObject({
      status: 'succeeded',
      scope: { kind: 'incremental', newIngests: 1, newIngestRows: 3 },
      watermark: new Date(m + 3_600_000).toISOString(),
    });
    // The first record is settled by the state: only the new one is read.
    expect(s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input.Key)).toEqual([second.key]);
    expect(sqlOf(1)).toContain(
      `("dt" IN ('2026-02-28') AND (fstore_seq BETWEEN 1858419346636800000 AND 1858419346636800002))`,
    );
    expect(sqlOf(1)).toContain(`"event_ts" > TIMESTAMP '2026-03-01 00:00:00.000000'`);

    clock = m + 7_200_000;
    const puts = countingClient(dynamo);
    athena.on(GetQueryResultsCommand).resolves({
      ResultSet: { ResultSetMetadata: columns, Rows: [header] },
    });
    expect(
      await handlerFor(
        table,
        {},
        puts.client,
      )({ view: 'profile' }, context(() => 600_000) as never),
    ).toMatchObject({
      status: 'succeeded',
      scope: { kind: 'incremental', newIngests: 0, newIngestRows: 0 },
      counts: { rowsRead: 0, written: 0 },
    });
    expect(sqlOf(2)).toContain('(FALSE OR ("event_ts" > TIMESTAMP \'2026-03-01 01:00:00.000000\'');
    expect(puts.count('PutItemCommand')).toBe(0);
    const state = await new MaterializationStateStore(
      dynamo,
      table,
      view?.onlineStore.keyPrefix as string,
    ).read();
    // Settled: commits 10 minutes before the newest one; named: the newer ones.
    expect(state.ingests).toEqual({
      settledBeforeMs: m + 1_800_000 - 600_000,
      ingestIds: ['20260301t010000-0000000b'],
    });
  });

  it('quarantines rows that break constraints to S3 under the view and run', async () => {
    athena.on(GetQueryResultsCommand).resolves({
      ResultSet: {
        ResultSetMetadata: columns,
        Rows: [header, dataRow('C1', 10), dataRow('C2', 500)],
      },
    });
    const result = await handlerFor(table)({ view: 'profile' }, context(() => 600_000) as never);
    expect(result).toMatchObject({ counts: { written: 1, rejected: 1 } });
    const put = s3.commandCalls(PutObjectCommand)[0]?.args[0].input;
    expect(put?.Bucket).toBe('offline-bucket');
    expect(put?.Key).toMatch(/^quarantine\/profile\/[^/]+\/[^/]+\.jsonl$/);
    expect(JSON.parse(String(put?.Body))).toMatchObject({
      view: 'profile',
      reasons: ['score = 500 is above max 100'],
      row: { customer_id: 'C2' },
    });
  });

  it('reports "busy" without failing when another run holds the lease', async () => {
    await new MaterializationStateStore(
      dynamo,
      table,
      view?.onlineStore.keyPrefix as string,
      () => m,
    ).acquire('other', 60_000);
    const result = await handlerFor(table)({ view: 'profile' }, context(() => 600_000) as never);
    expect(result).toMatchObject({ status: 'busy' });
    expect(athena.commandCalls(StartQueryExecutionCommand)).toHaveLength(0);
  });

  it('rejects an event naming a view that is not online here, before touching anything', async () => {
    await expect(
      handlerFor(table)({ view: 'nope' }, context(() => 600_000) as never),
    ).rejects.toThrow(/view must be an online feature view of this deployment: profile/);
    expect(athena.commandCalls(StartQueryExecutionCommand)).toHaveLength(0);
  });

  it('runs a view in full on { view, full: true }, though the state says nothing is new', async () => {
    athena.on(GetQueryResultsCommand).resolves({
      ResultSet: { ResultSetMetadata: columns, Rows: [header, dataRow('C1', 10)] },
    });
    const handler = handlerFor(table);
    const sqlOf = (n: number) =>
      athena.commandCalls(StartQueryExecutionCommand)[n]?.args[0].input.QueryString ?? '';
    await handler({ view: 'profile' }, context(() => 600_000) as never);
    clock = m + 3_600_000;
    expect(await handler({ view: 'profile' }, context(() => 600_000) as never)).toMatchObject({
      scope: { kind: 'incremental', newIngests: 0 },
    });
    expect(sqlOf(1)).toContain('"event_ts" > TIMESTAMP');
    clock = m + 7_200_000;
    expect(
      await handler({ view: 'profile', full: true }, context(() => 600_000) as never),
    ).toMatchObject({
      status: 'succeeded',
      scope: { kind: 'full', reason: 'asked for' },
      counts: { rowsRead: 1 },
      watermark: new Date(m + 7_200_000).toISOString(),
    });
    expect(sqlOf(2)).not.toContain('"event_ts" >');
    expect(sqlOf(2)).not.toContain('fstore_seq BETWEEN');
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
  });

  it('starts one full run per online view on { full: true }, and per named view with views', async () => {
    const handler = handlerFor(table);
    const payloads = () =>
      lambda
        .commandCalls(InvokeCommand)
        .map((c) => JSON.parse(new TextDecoder().decode(c.args[0].input.Payload as Uint8Array)));
    expect(await handler({ full: true }, context(() => 600_000) as never)).toEqual({
      status: 'started',
      full: true,
      views: ['profile'],
    });
    expect(payloads()).toEqual([{ view: 'profile', full: true }]);
    expect(lambda.commandCalls(InvokeCommand)[0]?.args[0].input).toMatchObject({
      FunctionName: 'fstore-dev-materialize',
      InvocationType: 'Event',
    });
    lambda.resetHistory();
    await handler({ full: true, views: ['profile'] }, context(() => 600_000) as never);
    expect(payloads()).toEqual([{ view: 'profile', full: true }]);
    expect(athena.commandCalls(StartQueryExecutionCommand)).toHaveLength(0);
  });

  it.each([
    [{}, /: view is required \(or full: true/],
    [{ view: 'profile', full: 'yes' }, /: full Invalid input: expected boolean/],
    [{ views: ['profile'] }, /views is only for a forced full run: add full: true/],
    [{ view: 'profile', views: ['profile'], full: true }, /views cannot come with view/],
    [{ full: true, views: ['nope'] }, /views\.0 must be an online feature view/],
    [{ full: true, views: [] }, /views Too small/],
    [{ view: 'profile', full: true, continuation: 2 }, /full cannot come with continuation/],
    [{ view: 'profile', ful: true }, /Unrecognized key: "ful"/],
  ])(
    'refuses the materialize event %j, naming the field, before touching anything',
    async (event, message) => {
      await expect(
        handlerFor(table)(event as never, context(() => 600_000) as never),
      ).rejects.toThrow(message);
      expect(athena.commandCalls(StartQueryExecutionCommand)).toHaveLength(0);
      expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
    },
  );
});
