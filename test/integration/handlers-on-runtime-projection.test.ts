import { Metrics } from '@aws-lambda-powertools/metrics';
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readMaterializeConfig } from '../../lambdas/materialize/config.ts';
import { createMaterializeHandler } from '../../lambdas/materialize/handler.ts';
import { createLookupHandler, readLookupConfig } from '../../lambdas/online-lookup/handler.ts';
import { type LocalDynamo, startDynalite } from '../../lib/local/dynalite-server.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { writeOnlineRows } from '../../lib/online/online-writer.ts';
import type { Registry } from '../../lib/registry/index.ts';
import {
  lookupRegistryProjection,
  materializerRegistryProjection,
  type RuntimeRegistry,
} from '../../lib/registry/runtime-projection.ts';
import { editedExampleRegistry } from '../helpers/edited-example-registry.ts';

/** A view that is not online, so the lookup's "not online" answer is part of the comparison. */
const offlineViewFile = `import { defineFeatureView } from 'fstore:definitions';
import { customer } from './entities.ts';
import { orders } from './sources.ts';

export const orderArchive = defineFeatureView({
  name: 'order_archive',
  entities: [customer],
  source: orders,
  features: { amount: { type: 'float64' } },
  online: false,
});
`;

const now = Date.parse('2026-11-30T12:00:00Z');
const hourAgo = new Date(now - 3_600_000).toISOString();
let registry: Registry;
let server: LocalDynamo;
let dynamo: DynamoDBClient;
let tables = 0;

beforeAll(async () => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  registry = await editedExampleRegistry([], { 'order-archive.ts': offlineViewFile });
  server = await startDynalite();
  dynamo = localDynamoClient(server.endpoint);
}, 60_000);
afterAll(async () => {
  dynamo?.destroy();
  await server?.close();
});

async function newTable(): Promise<string> {
  const table = `fstore-projection-${tables++}`;
  await ensureLocalTable(dynamo, table);
  return table;
}

const view = (name: string) => {
  const found = registry.featureViews.find((v) => v.name === name);
  if (!found) throw new Error(`the example registry has no view ${name}`);
  return found;
};

describe('the lookup handler on its projection of the registry', () => {
  const post = (path: string, body: unknown) => ({
    rawPath: path,
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
    requestContext: { http: { method: 'POST' } },
  });
  const get = (path: string) => ({ rawPath: path, requestContext: { http: { method: 'GET' } } });
  const context = { functionName: 'online-lookup', awsRequestId: 'r1' } as never;

  async function answers(runtime: RuntimeRegistry, table: string, events: readonly object[]) {
    const handler = createLookupHandler({
      registry: runtime,
      client: dynamo,
      config: readLookupConfig({ TABLE_NAME: table }),
      metrics: new Metrics({ namespace: 'fstore-test', serviceName: 'online-lookup' }),
    });
    const responses = [];
    for (const event of events) {
      const response = await handler(event as never, context);
      responses.push({ statusCode: response.statusCode, body: JSON.parse(response.body) });
    }
    return responses;
  }

  it('answers every lookup, and every mistake, exactly as with the whole registry', async () => {
    const table = await newTable();
    await writeOnlineRows(dynamo, table, view('customer_profile'), [
      {
        values: {
          customer_id: 'C1',
          age: 34,
          plan: 'premium',
          region: 'north',
          monthly_charges: 79.5,
          tenure_months: 12,
        },
        eventTs: hourAgo,
      },
    ]);
    await writeOnlineRows(dynamo, table, view('last_order'), [
      { values: { customer_id: 'C1', amount: 12.5, category: 'books' }, eventTs: hourAgo },
    ]);
    const events = [
      post('/v1/features/churn_online', {
        entities: [{ customer_id: 'C1' }, { customer_id: 'C9' }],
      }),
      post('/v1/features/churn_v1', { entities: [{ customer_id: 'C1' }], features: ['age'] }),
      post('/v1/feature-views/customer_profile', {
        entities: [{ customer_id: 'C1' }],
        features: ['age', 'region'],
      }),
      post('/v1/feature-views/order_stats', { entities: [{ customer_id: 'C1' }] }),
      post('/v1/feature-views/order_archive', { entities: [{ customer_id: 'C1' }] }),
      post('/v1/features/no_such_service', { entities: [] }),
      post('/v1/features/churn_online', { entities: [{ customer_idd: 'C1' }] }),
      post('/v1/feature-views/last_order', { entities: [{ customer_id: 'C1' }], features: ['x'] }),
    ];
    const whole = await answers(registry, table, events);
    const projected = await answers(lookupRegistryProjection(registry), table, events);
    expect(projected.map((r) => r.statusCode)).toEqual([200, 200, 200, 200, 404, 404, 400, 400]);
    // Lookup bodies carry no version, so they are equal byte for byte.
    expect(projected).toEqual(whole);
    expect(projected[0]?.body.results[0].features.plan).toMatchObject({
      value: 'premium',
      status: 'PRESENT',
    });
    expect(projected[4]?.body.error.code).toBe('VIEW_NOT_ONLINE');
  });

  it('reports the projection’s version in /v1/health and OpenAPI, and /v1/registry without the metadata', async () => {
    const table = await newTable();
    const runtime = lookupRegistryProjection(registry);
    const events = [get('/v1/health'), get('/v1/openapi.json'), get('/v1/registry')];
    const [health, openapi, summary] = await answers(runtime, table, events);
    const [, , wholeSummary] = await answers(registry, table, events);
    expect(health?.body).toEqual({ status: 'ok', registryVersion: runtime.version });
    expect(openapi?.body.info.version).toBe(runtime.version);
    expect(summary?.body.version).toBe(runtime.version);
    // Names, versions, keys, types, TTLs and lineage as the whole registry has them ...
    const shape = (s: typeof wholeSummary) => ({
      views: s?.body.featureViews.map(
        ({ name, version, joinKeys, online, ttl, status, features }: Record<string, unknown>) => ({
          name,
          version,
          joinKeys,
          online,
          ttl,
          status,
          features: (features as { name: string; type: string }[]).map((f) => [f.name, f.type]),
        }),
      ),
      services: s?.body.featureServices.map(
        ({ name, online, features }: Record<string, unknown>) => ({ name, online, features }),
      ),
      lineage: s?.body.lineage,
    });
    expect(shape(summary)).toEqual(shape(wholeSummary));
    // ... but no owners or descriptions: those are in the registry record and `fstore describe`.
    const profile = summary?.body.featureViews.find(
      (v: { name: string }) => v.name === 'customer_profile',
    );
    for (const key of ['owner', 'description', 'tags']) expect(profile).not.toHaveProperty(key);
  });
});

describe('the materialize handler on its projection of the registry', () => {
  const athena = mockClient(AthenaClient);
  const s3 = mockClient(S3Client);
  const columns = {
    ColumnInfo: [
      ['customer_id', 'varchar'],
      ['age', 'integer'],
      ['plan', 'varchar'],
      ['region', 'varchar'],
      ['monthly_charges', 'double'],
      ['tenure_months', 'integer'],
      ['event_ts', 'timestamp(6)'],
      ['created_ts', 'timestamp(6)'],
      ['fstore_seq', 'bigint'],
    ].map(([Name, Type]) => ({ Name, Type })),
  };
  const row = (...values: (string | undefined)[]) => ({
    Data: values.map((v) => (v === undefined ? {} : { VarCharValue: v })),
  });
  const athenaTime = new Date(now - 3_600_000).toISOString().replace('T', ' ').replace('Z', '');

  const run = async (runtime: RuntimeRegistry, table: string, name: string) => {
    const handler = createMaterializeHandler({
      registry: runtime,
      dynamo,
      athena: new AthenaClient({ region: 'eu-west-1' }),
      s3: new S3Client({ region: 'eu-west-1' }),
      lambda: new LambdaClient({ region: 'eu-west-1' }),
      config: readMaterializeConfig({
        TABLE_NAME: table,
        ATHENA_WORKGROUP: 'fstore-dev',
        ATHENA_DATABASE: 'fstore_dev',
        OFFLINE_BUCKET: 'offline-bucket',
      }),
      metrics: new Metrics({ namespace: 'fstore-test', serviceName: 'materialize' }),
      now: () => now,
      sleep: async () => {},
    });
    const context = {
      functionName: 'fstore-dev-materialize',
      awsRequestId: `req-${table}`,
      getRemainingTimeInMillis: () => 600_000,
    };
    return handler({ view: name }, context as never).then(
      (response) => ({ response }),
      (error: Error) => ({ error: `${error.name}: ${error.message}` }),
    );
  };
  /** JSON text with the random part of run ids (20261130T120000-a413c7) left out. */
  const withoutRunIds = (value: unknown) =>
    JSON.stringify(value).replace(/(\d{8}T\d{6})-[0-9a-f]+/g, '$1-<run>');
  const items = async (table: string) =>
    ((await dynamo.send(new ScanCommand({ TableName: table }))).Items ?? [])
      .map(withoutRunIds)
      .sort();

  beforeEach(() => {
    athena.reset();
    s3.reset();
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q1' });
    s3.on(PutObjectCommand).resolves({});
    // The materializer lists the ingest records first: an empty store has none.
    s3.on(ListObjectsV2Command).resolves({ Contents: [] });
  });

  it('sends the same Athena query for every online view as with the whole registry', async () => {
    athena.on(GetQueryExecutionCommand).resolves({
      QueryExecution: { Status: { State: 'FAILED', StateChangeReason: 'stopped by the test' } },
    });
    const sqlOf = async (runtime: RuntimeRegistry, name: string) => {
      athena.resetHistory();
      const outcome = await run(runtime, await newTable(), name);
      const sql = athena.commandCalls(StartQueryExecutionCommand)[0]?.args[0].input.QueryString;
      return { outcome, sql };
    };
    const online = registry.featureViews.filter((v) => v.online).map((v) => v.name);
    expect(online).toHaveLength(4);
    for (const name of online) {
      const whole = await sqlOf(registry, name);
      expect(whole.sql, name).toBeTruthy();
      expect(await sqlOf(materializerRegistryProjection(registry), name), name).toEqual(whole);
    }
    const refused = await run(
      materializerRegistryProjection(registry),
      await newTable(),
      'order_archive',
    );
    expect(refused).toMatchObject({
      error: expect.stringContaining('must be an online feature view'),
    });
  });

  it('writes the same items and quarantines the same rows (constraints kept) as with the whole registry', async () => {
    athena
      .on(GetQueryExecutionCommand)
      .resolves({ QueryExecution: { Status: { State: 'SUCCEEDED' } } });
    athena.on(GetQueryResultsCommand).resolves({
      ResultSet: {
        ResultSetMetadata: columns,
        Rows: [
          row(...columns.ColumnInfo.map((c) => c.Name)),
          row('C1', '34', 'premium', 'north', '79.5', '12', athenaTime, athenaTime, '1'),
          // age 150 is above the feature's max of 120
          row('C2', '150', 'basic', 'south', '19.25', '40', athenaTime, undefined, '2'),
        ],
      },
    });
    const outcomes = [];
    for (const runtime of [registry, materializerRegistryProjection(registry)]) {
      s3.resetHistory();
      const table = await newTable();
      const outcome = await run(runtime, table, 'customer_profile');
      outcomes.push({
        outcome: JSON.parse(withoutRunIds(outcome)),
        quarantined: s3.commandCalls(PutObjectCommand).length,
        items: await items(table),
      });
    }
    expect(outcomes[0]?.outcome).toMatchObject({
      response: { status: 'succeeded', counts: { written: 1, rejected: 1 } },
    });
    expect(outcomes[0]?.quarantined).toBe(1);
    expect(outcomes[1]).toEqual(outcomes[0]);
  });
});
