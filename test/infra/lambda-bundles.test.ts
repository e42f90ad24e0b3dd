import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLookupHandler, readLookupConfig } from '../../lambdas/online-lookup/handler.ts';
import { type LocalDynamo, startDynalite } from '../../lib/local/dynalite-server.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import type { Registry } from '../../lib/registry/index.ts';
import { lookupRegistryProjection } from '../../lib/registry/runtime-projection.ts';
import { type AwsJsonStub, startAwsJsonStub } from '../helpers/aws-json-stub-server.ts';
import { assertTrinoGrammar } from '../helpers/trino-grammar.ts';
import {
  invokeBundle,
  provideRuntimeSdk,
  runtimeEnvironment,
  type SynthesizedFunction,
  synthesizedFunctions,
} from './bundle-assets.ts';
import { synthStage } from './synth-app.ts';

const table = 'fstore-smoke-online';
const recordsTable = 'fstore-smoke-push-idempotency';
const hourAgo = Date.now() - 3_600_000;
/** Athena's text of a timestamp read from Parquet: milliseconds (see ADR 0009). */
const athenaTime = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
/** customer_profile rows as the materialization query returns them (renderAthenaLatest's columns). */
const profileColumns: [string, string][] = [
  ['customer_id', 'varchar'],
  ['age', 'integer'],
  ['plan', 'varchar'],
  ['region', 'varchar'],
  ['monthly_charges', 'double'],
  ['tenure_months', 'integer'],
  ['event_ts', 'timestamp(6)'],
  ['created_ts', 'timestamp(6)'],
  ['fstore_seq', 'bigint'],
];
const profileRows = [
  [
    'C000001',
    '34',
    'premium',
    'north',
    '79.5',
    '12',
    athenaTime(hourAgo),
    athenaTime(hourAgo),
    '1',
  ],
  [
    'C000002',
    '61',
    'basic',
    undefined,
    '19.25',
    '40',
    athenaTime(hourAgo - 60_000),
    undefined,
    '2',
  ],
];

let registry: Registry;
let lookupFunction: SynthesizedFunction;
let materializeFunction: SynthesizedFunction;
let pushFunction: SynthesizedFunction;
let dynamo: LocalDynamo;
let client: DynamoDBClient;
let athena: AwsJsonStub;
let assemblyDir: string;
const failedQueries = new Set<string>();

/** What the Lambda runtime gives every function: a region, credentials, and here the endpoints. */
const runtimeBasics = () => ({
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'smoke',
  AWS_SECRET_ACCESS_KEY: 'smoke',
  AWS_LAMBDA_FUNCTION_NAME: 'fstore-bundle-smoke',
  AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
  // Athena, S3 and Lambda calls go to the stub: it answers Athena's operations and S3 listings
  // (an empty bucket: no ingest records, so the first run reads every committed row).
  AWS_ENDPOINT_URL_ATHENA: athena.endpoint,
  AWS_ENDPOINT_URL_S3: athena.endpoint,
  AWS_ENDPOINT_URL_LAMBDA: athena.endpoint,
  // The push function's offline rows go to Firehose (ADR 0016): the stub accepts every record.
  AWS_ENDPOINT_URL_FIREHOSE: athena.endpoint,
});

function answerAthena(call: { operation: string; input: Record<string, unknown> }) {
  switch (call.operation) {
    case 'PutRecordBatch':
      return {
        FailedPutCount: 0,
        Encrypted: true,
        RequestResponses: (call.input.Records as unknown[]).map((_, i) => ({ RecordId: `r${i}` })),
      };
    case 'StartQueryExecution': {
      const id = `smoke-q${athena.calls.length}`;
      // Queries of the orders source fail, as they would with its Glue table missing.
      if (String(call.input.QueryString).includes('"fstore_dev"."orders"')) failedQueries.add(id);
      return { QueryExecutionId: id };
    }
    case 'GetQueryExecution':
      return {
        QueryExecution: {
          QueryExecutionId: call.input.QueryExecutionId,
          Status: failedQueries.has(String(call.input.QueryExecutionId))
            ? {
                State: 'FAILED',
                StateChangeReason: 'TABLE_NOT_FOUND: Table fstore_dev.orders does not exist',
                AthenaError: { ErrorCategory: 2, ErrorType: 1101 },
              }
            : { State: 'SUCCEEDED' },
          Statistics: { DataScannedInBytes: 2048, EngineExecutionTimeInMillis: 15 },
        },
      };
    case 'GetQueryResults':
      return {
        ResultSet: {
          ResultSetMetadata: {
            ColumnInfo: profileColumns.map(([Name, Type]) => ({ Name, Type, Label: Name })),
          },
          Rows: [profileColumns.map(([name]) => name), ...profileRows].map((row) => ({
            Data: row.map((value) => (value === undefined ? {} : { VarCharValue: value })),
          })),
        },
      };
    default:
      return undefined;
  }
}

/** An API Gateway HTTP API (payload 2.0) event, as the lookup function receives it. */
function httpApiEvent(method: string, rawPath: string, body?: unknown, base64 = false) {
  const text = body === undefined ? undefined : JSON.stringify(body);
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString: '',
    headers: {
      'content-type': 'application/json',
      host: 'abc123.execute-api.eu-west-1.amazonaws.com',
      'user-agent': 'smoke-test',
    },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.eu-west-1.amazonaws.com',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '10.0.0.1' },
      requestId: `req-${method}-${rawPath}`,
      routeKey: '$default',
      stage: '$default',
      time: '30/Nov/2026:10:00:00 +0000',
      timeEpoch: 1_796_032_800_000,
    },
    ...(text === undefined
      ? {}
      : { body: base64 ? Buffer.from(text).toString('base64') : text, isBase64Encoded: base64 }),
  };
}

describe('the synthesized Lambda bundles, loaded in a fresh Node process', () => {
  beforeAll(async () => {
    const synth = await synthStage('dev');
    registry = synth.registry;
    const outdir = synth.assembly?.directory;
    if (!outdir) throw new Error(`synthesis failed: ${JSON.stringify(synth.violations)}`);
    assemblyDir = outdir;
    const template = synth.template.toJSON() as Parameters<typeof synthesizedFunctions>[0];
    const functions = synthesizedFunctions(template, outdir);
    const find = (variable: string) => {
      const found = functions.find((f) => variable in f.environment);
      if (!found)
        throw new Error(
          `no bundled function with ${variable} among ${functions.map((f) => f.logicalId)}`,
        );
      return found;
    };
    lookupFunction = find('MAX_ENTITIES');
    materializeFunction = find('ATHENA_WORKGROUP');
    pushFunction = find('MAX_ROWS');
    await provideRuntimeSdk(outdir);
    dynamo = await startDynalite();
    client = localDynamoClient(dynamo.endpoint);
    await ensureLocalTable(client, table);
    await ensureLocalTable(client, recordsTable);
    athena = await startAwsJsonStub(answerAthena);
  }, 600_000);

  afterAll(async () => {
    client?.destroy();
    await athena?.close();
    await dynamo?.close();
  });

  it('materializer: runs a view with Athena stubbed over HTTP and writes its rows to the DynamoDB-API server', async () => {
    const environment = {
      ...runtimeEnvironment(materializeFunction, {
        TABLE_NAME: table,
        ATHENA_WORKGROUP: 'fstore-dev',
        ATHENA_DATABASE: 'fstore_dev',
        OFFLINE_BUCKET: 'fstore-dev-offline-smoke',
      }),
      ...runtimeBasics(),
    };
    const { results, stderr } = await invokeBundle(materializeFunction.bundle, environment, [
      { view: 'customer_profile' },
      { view: 'no_such_view' },
      { view: 'last_order' },
    ]);
    expect(results[0], stderr).toMatchObject({
      response: { view: 'customer_profile', status: 'succeeded', counts: { written: 2 } },
    });
    expect(results[1]).toMatchObject({
      error: {
        message: expect.stringContaining('must be an online feature view of this deployment'),
      },
    });
    expect(results[2]).toMatchObject({
      error: {
        name: 'AthenaQueryError',
        message: expect.stringContaining(
          'failed: TABLE_NOT_FOUND: Table fstore_dev.orders does not exist [user 1101]',
        ),
      },
    });
    const started = athena.calls.filter((c) => c.operation === 'StartQueryExecution');
    expect(started).toHaveLength(2);
    expect(started[0]?.input).toMatchObject({
      WorkGroup: 'fstore-dev',
      QueryExecutionContext: { Database: 'fstore_dev' },
    });
    const sql = String(started[0]?.input.QueryString);
    expect(sql).toContain('FROM "fstore_dev"."customer_profiles" AS "fstore_rows" CROSS JOIN');
    assertTrinoGrammar({ name: 'the materializer bundle’s query', sql });
    expect(athena.calls.map((c) => c.operation)).not.toContain('PutObject');
    expect(athena.calls.filter((c) => c.operation === 'S3:ListObjectsV2')).toContainEqual({
      operation: 'S3:ListObjectsV2',
      input: { bucket: 'fstore-dev-offline-smoke', prefix: 'offline/_ingests/customer_profiles/' },
    });
  });

  it('lookup: answers HTTP API v2 events exactly as the handler in this process does, over the rows the materializer bundle wrote', async () => {
    const events = [
      httpApiEvent('POST', '/v1/features/churn_online', {
        entities: [{ customer_id: 'C000001' }, { customer_id: 'C000002' }, { customer_id: 'C9' }],
      }),
      httpApiEvent(
        'POST',
        '/v1/feature-views/customer_profile',
        { entities: [{ customer_id: 'C000002' }], features: ['age', 'region'] },
        true,
      ),
      httpApiEvent('POST', '/v1/features/churn_online', { entities: [{ customer_idd: 'C1' }] }),
      httpApiEvent('POST', '/v1/features/no_such_service', { entities: [] }),
      httpApiEvent('GET', '/v1/health'),
      httpApiEvent('GET', '/v1/registry'),
      httpApiEvent('GET', '/v1/openapi.json'),
    ];
    const environment = {
      ...runtimeEnvironment(lookupFunction, { TABLE_NAME: table }),
      ...runtimeBasics(),
    };
    // The deployed lookup reads through fstore's signed BatchGetItem client, not the SDK's.
    const source = await readFile(lookupFunction.bundle, 'utf8');
    expect(source).toContain('DynamoDB_20120810.');
    expect(source).not.toContain('BatchGetItemCommand');
    const { results, stderr } = await invokeBundle(lookupFunction.bundle, environment, events);
    // The bundle embeds the lookup's projection of the registry (ADR 0012), not the whole one.
    const inProcess = createLookupHandler({
      registry: lookupRegistryProjection(registry),
      client,
      config: readLookupConfig(environment),
    });
    const context = { functionName: 'fstore-bundle-smoke', awsRequestId: 'in-process' } as never;
    const statuses: number[] = [];
    const bodies: unknown[] = [];
    for (const [index, event] of events.entries()) {
      const bundled = results[index];
      if (!bundled || bundled.error) throw new Error(`event ${index}: ${JSON.stringify(bundled)}`);
      const response = bundled.response as { statusCode: number; body: string };
      const expected = await inProcess(event as never, context);
      statuses.push(response.statusCode);
      bodies.push(JSON.parse(response.body));
      expect(response.statusCode, `${event.rawPath}: ${stderr}`).toBe(expected.statusCode);
      expect(JSON.parse(response.body), event.rawPath).toEqual(JSON.parse(expected.body));
    }
    expect(statuses).toEqual([200, 200, 400, 404, 200, 200, 200]);
    expect((bodies[0] as { results: { features: unknown }[] }).results[0]?.features).toMatchObject({
      plan: { value: 'premium', status: 'PRESENT' },
      monthly_charges: { value: 79.5, status: 'PRESENT' },
      contract_type: { value: null, status: 'NOT_FOUND' },
    });
  });

  it("push: writes an online push through the bundle that a lookup then serves; the default target also goes to the source's Firehose stream, a bad row 400, a retried Idempotency-Key replays", async () => {
    const at = new Date(Date.now() - 60_000).toISOString();
    const row = {
      customer_id: 'C000777',
      age: 40,
      plan: 'standard',
      region: 'west',
      monthly_charges: 55.5,
      tenure_months: 3,
      event_ts: at,
      created_ts: at,
    };
    const events = [
      httpApiEvent('POST', '/v1/push/customer_profiles', { to: 'online', rows: [row] }),
      httpApiEvent('POST', '/v1/push/customer_profiles', { rows: [row] }),
      httpApiEvent('POST', '/v1/push/customer_profiles', {
        to: 'online',
        rows: [{ ...row, age: 'forty' }],
      }),
      httpApiEvent('POST', '/v1/push/no_such_source', { to: 'online', rows: [row] }),
      ...[1, 2].map(() => {
        const event = httpApiEvent('POST', '/v1/push/customer_profiles', {
          to: 'online',
          rows: [{ ...row, customer_id: 'C000778' }],
        });
        return { ...event, headers: { ...event.headers, 'idempotency-key': 'smoke-key-1' } };
      }),
    ];
    const environment = {
      ...runtimeEnvironment(pushFunction, {
        TABLE_NAME: table,
        IDEMPOTENCY_TABLE_NAME: recordsTable,
      }),
      ...runtimeBasics(),
    };
    const { results, stderr } = await invokeBundle(pushFunction.bundle, environment, events);
    const answers = results.map((r, index) => {
      if (!r || r.error) throw new Error(`event ${index}: ${JSON.stringify(r)} ${stderr}`);
      const response = r.response as {
        statusCode: number;
        headers: Record<string, string>;
        body: string;
      };
      return {
        status: response.statusCode,
        replayed: response.headers['idempotent-replayed'],
        body: JSON.parse(response.body),
      };
    });
    expect(
      answers.map((a) => a.status),
      stderr,
    ).toEqual([200, 200, 400, 404, 200, 200]);
    expect(answers.slice(4).map((a) => a.replayed)).toEqual([undefined, 'true']);
    expect(answers[5]?.body).toEqual(answers[4]?.body);
    expect(answers[0]?.body).toMatchObject({ rows: 1, online: { written: 1, skippedAsOlder: 0 } });
    expect(answers[1]?.body).toMatchObject({ to: 'online_and_offline', offline: { rows: 1 } });
    const sent = athena.calls.filter((c) => c.operation === 'PutRecordBatch');
    expect(sent.map((c) => c.input.DeliveryStreamName)).toEqual([
      'fstore-dev-push-customer_profiles',
    ]);
    const record = JSON.parse(
      Buffer.from(
        String((sent[0]?.input.Records as { Data: string }[] | undefined)?.[0]?.Data),
        'base64',
      ).toString('utf8'),
    );
    expect(record).toMatchObject({ customer_id: 'C000777', fstore_push_row: 0 });
    expect(answers[2]?.body.error.details.path).toBe('$.rows[0].age');
    const lookup = createLookupHandler({
      registry: lookupRegistryProjection(registry),
      client,
      config: readLookupConfig({ TABLE_NAME: table }),
    });
    const served = await lookup(
      httpApiEvent('POST', '/v1/feature-views/customer_profile', {
        entities: [{ customer_id: 'C000777' }],
      }) as never,
      { functionName: 'fstore-bundle-smoke', awsRequestId: 'in-process' } as never,
    );
    expect(JSON.parse(served.body).results[0].features).toMatchObject({
      plan: { value: 'standard', status: 'PRESENT' },
      monthly_charges: { value: 55.5, status: 'PRESENT' },
    });
  });

  it.each([
    [
      'a constant esbuild was not given (a missing define)',
      'const registry = FSTORE_REGISTRY;\nexport const handler = async () => registry;\n',
      'FSTORE_REGISTRY is not defined',
    ],
    [
      'a module the Lambda runtime lacks (only @aws-sdk/* is provided)',
      "import { z } from 'zod';\nexport const handler = async () => z.string().parse('x');\n",
      "Cannot find package 'zod'",
    ],
  ])('fails loudly for a bundle that needs %s', async (_, source, expected) => {
    const dir = path.join(assemblyDir, `asset.smoke-${expected.length}`);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'index.mjs'), source);
    await expect(invokeBundle(path.join(dir, 'index.mjs'), runtimeBasics(), [{}])).rejects.toThrow(
      expected,
    );
  });
});
