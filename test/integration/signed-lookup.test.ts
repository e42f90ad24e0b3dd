import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLookupHandler,
  localLambdaContext,
  localLambdaContextWithin,
  readLookupConfig,
} from '../../lambdas/online-lookup/handler.ts';
import { createBatchGetLookupHandler } from '../../lambdas/online-lookup/lookup-handler.ts';
import { type LocalDynamo, startDynalite } from '../../lib/local/dynalite-server.ts';
import { signedBatchGet } from '../../lib/online/dynamodb-batch-get/signed-batch-get.ts';
import { encodeEntityKey, partitionKey } from '../../lib/online/entity-key.ts';
import { lookupFeatures } from '../../lib/online/online-lookup.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { writeOnlineRows } from '../../lib/online/online-writer.ts';
import {
  type DynamoDbFaultServer,
  dynamoError,
  ok,
  startDynamoDbFaultServer,
} from '../helpers/dynamodb-fault-server.ts';
import { allFeatures, onlineRegistry } from '../helpers/online-registry.ts';

// The handler's EMF metrics would flood the test output.
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
const { registry, profile, lastOrder } = onlineRegistry();
const table = 'fstore-signed-online';
const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 's', sessionToken: 't' };
const ids = Array.from({ length: 150 }, (_, i) => `C${String(i).padStart(4, '0')}`);
const lookupEvent = (entities: string[]) => ({
  rawPath: '/v1/features/unused',
  requestContext: { http: { method: 'POST' } },
  body: JSON.stringify({ entities: entities.map((customer_id) => ({ customer_id })) }),
});
const viewEvent = (entities: string[]) => ({
  ...lookupEvent(entities),
  rawPath: '/v1/feature-views/profile',
});
const config = readLookupConfig({ TABLE_NAME: table });

describe('lookups through the signed BatchGetItem client, against dynalite', () => {
  let dynamo: LocalDynamo;
  let client: DynamoDBClient;
  beforeAll(async () => {
    dynamo = await startDynalite();
    client = localDynamoClient(dynamo.endpoint);
    await ensureLocalTable(client, table);
    const recent = new Date(Date.now() - 3_600_000).toISOString();
    const old = new Date(Date.now() - 3 * 86_400_000).toISOString();
    // Every third entity has no profile, every fifth an expired one (TTL 1 day), C0007 a NULL plan.
    await writeOnlineRows(
      client,
      table,
      profile,
      ids
        .filter((_, i) => i % 3 !== 0)
        .map((id, i) => ({
          values: {
            customer_id: id,
            plan: id === 'C0007' ? null : `plan-${i}`,
            charges: i * 1.25,
            tags: [`t${i}`, 'x'],
          },
          eventTs: i % 5 === 0 ? old : recent,
        })),
    );
    await writeOnlineRows(
      client,
      table,
      lastOrder,
      ids.map((id, i) => ({ values: { customer_id: id, amount: i / 7 }, eventTs: recent })),
    );
  }, 120_000);
  afterAll(async () => {
    client?.destroy();
    await dynamo?.close();
  });

  it('answers every lookup exactly as the AWS SDK client does (150 entities, 2 views: 3 batches)', async () => {
    const signed = signedBatchGet({ region: 'eu-west-1', credentials, endpoint: dynamo.endpoint });
    const request = { views: allFeatures, entities: ids.map((customer_id) => ({ customer_id })) };
    const viaSdk = await lookupFeatures(client, table, registry, request);
    const viaSigned = await lookupFeatures(signed, table, registry, request);
    expect(viaSigned).toEqual(viaSdk);
    const statuses = new Set(viaSigned.flatMap((r) => Object.values(r).map((f) => f.status)));
    expect(statuses).toEqual(new Set(['PRESENT', 'NOT_FOUND', 'OUTSIDE_TTL', 'NULL_VALUE']));
  });

  it('gives the Lambda handler the same HTTP answers on either client', async () => {
    const onSigned = createBatchGetLookupHandler({
      registry,
      batchGet: signedBatchGet({ region: 'eu-west-1', credentials, endpoint: dynamo.endpoint }),
      config,
    });
    const onSdk = createLookupHandler({ registry, client, config });
    for (const event of [viewEvent(ids.slice(0, 120)), viewEvent(['C0007', 'nobody'])]) {
      const [signed, sdk] = [
        await onSigned(event, localLambdaContext),
        await onSdk(event, localLambdaContext),
      ];
      expect(signed.statusCode).toBe(200);
      expect(JSON.parse(signed.body)).toEqual(JSON.parse(sdk.body));
    }
  });
});

/**
 * Runs `invoke` and returns the warning and error entries the handler's logger wrote (JSON lines
 * in Powertools' format, whichever logger writes them), printing nothing.
 */
async function loggedEntries<T>(
  invoke: () => Promise<T>,
): Promise<{ result: T; entries: Record<string, unknown>[] }> {
  const lines: string[] = [];
  const streams = [process.stdout, process.stderr] as const;
  const writes = streams.map((stream) => stream.write);
  for (const stream of streams)
    stream.write = ((chunk: string | Uint8Array) => {
      lines.push(...String(chunk).split('\n'));
      return true;
    }) as typeof stream.write;
  try {
    const result = await invoke();
    const entries = lines
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((entry) => entry.level === 'WARN' || entry.level === 'ERROR');
    return { result, entries };
  } finally {
    streams.forEach((stream, i) => {
      stream.write = writes[i] as typeof stream.write;
    });
  }
}

describe('the lookup handler on the signed client when DynamoDB misbehaves', () => {
  let server: DynamoDbFaultServer;
  afterAll(async () => server?.close());
  const handlerOn = (endpoint: string) =>
    createBatchGetLookupHandler({
      registry,
      batchGet: signedBatchGet({
        region: 'eu-west-1',
        credentials,
        endpoint,
        sleep: async () => {},
      }),
      config,
    });
  const account = '123456789012';
  const tableArn = `arn:aws:dynamodb:eu-west-1:${account}:table/${table}`;

  it('answers 503 STORE_UNAVAILABLE with Retry-After when DynamoDB throttles through every retry, its text only in the log', async () => {
    const text = `The level of configured provisioned throughput for the table ${tableArn} was exceeded.`;
    server = await startDynamoDbFaultServer(() =>
      dynamoError(400, 'ProvisionedThroughputExceededException', text),
    );
    const { result: response, entries } = await loggedEntries(() =>
      handlerOn(server.endpoint)(
        viewEvent(['C0001']),
        localLambdaContextWithin(10_000, 'req-throttled'),
      ),
    );
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('1');
    expect(JSON.parse(response.body).error).toMatchObject({
      code: 'STORE_UNAVAILABLE',
      details: { requestId: 'req-throttled' },
    });
    expect(response.body).not.toContain(table);
    expect(response.body).not.toContain('ProvisionedThroughputExceededException');
    expect(entries).toEqual([
      expect.objectContaining({
        level: 'WARN',
        message: 'online store unavailable after retries',
        requestId: 'req-throttled',
        errorType: 'ProvisionedThroughputExceededException',
        detail: expect.stringContaining(text),
      }),
    ]);
    expect(server.requests).toHaveLength(3);
    await server.close();
  });

  it('answers 500 INTERNAL without Retry-After when the role may not read the table, naming the role only in the error log', async () => {
    const role = `arn:aws:sts::${account}:assumed-role/fstore-dev-LookupRole/fstore-dev-Lookup`;
    const text = `User: ${role} is not authorized to perform: dynamodb:BatchGetItem on resource: ${tableArn} because no identity-based policy allows the dynamodb:BatchGetItem action`;
    server = await startDynamoDbFaultServer(() => dynamoError(400, 'AccessDeniedException', text));
    const { result: response, entries } = await loggedEntries(() =>
      handlerOn(server.endpoint)(
        viewEvent(['C0001']),
        localLambdaContextWithin(10_000, 'req-denied'),
      ),
    );
    expect(response.statusCode).toBe(500);
    expect(response.headers).not.toHaveProperty('retry-after');
    expect(JSON.parse(response.body).error).toMatchObject({
      code: 'INTERNAL',
      details: { requestId: 'req-denied' },
    });
    for (const secret of [account, table, 'AccessDenied', 'not authorized'])
      expect(response.body).not.toContain(secret);
    expect(entries).toEqual([
      expect.objectContaining({
        level: 'ERROR',
        message: expect.stringContaining('misconfigured'),
        requestId: 'req-denied',
        errorType: 'AccessDeniedException',
        detail: expect.stringContaining(text),
        hint: expect.stringContaining('dynamodb:BatchGetItem'),
      }),
    ]);
    expect(server.requests).toHaveLength(1);
    await server.close();
  });

  it('answers 503 DEADLINE_EXCEEDED before the function’s time is up when DynamoDB never answers, and logs the attempts', async () => {
    server = await startDynamoDbFaultServer(() => 'hang');
    const handler = createBatchGetLookupHandler({
      registry,
      batchGet: signedBatchGet({
        region: 'eu-west-1',
        credentials,
        endpoint: server.endpoint,
        timeoutMs: 60_000,
      }),
      // 4 s left at the start, 1.5 s kept: the lookup's deadline is 2.5 s.
      config: { ...config, deadlineMarginMs: 1_500 },
    });
    const started = performance.now();
    const { result: response, entries } = await loggedEntries(() =>
      handler(viewEvent(['C0001']), localLambdaContextWithin(4_000, 'req-slow')),
    );
    // The Lambda would be stopped at 4 s; a 60 s attempt timeout would have held it past that.
    expect(performance.now() - started).toBeLessThan(4_000);
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('1');
    expect(JSON.parse(response.body).error).toMatchObject({
      code: 'DEADLINE_EXCEEDED',
      details: { requestId: 'req-slow' },
    });
    expect(server.requests).toHaveLength(1);
    expect(entries).toEqual([
      expect.objectContaining({
        level: 'WARN',
        message: 'online lookup gave up at its deadline',
        requestId: 'req-slow',
        attempts: 1,
      }),
    ]);
    await server.close();
  });

  it('merges keys DynamoDB left unprocessed on a later round, never reporting them as not found', async () => {
    const key = (id: string) =>
      partitionKey(
        profile.onlineStore.keyPrefix,
        encodeEntityKey(profile.joinKeys, { customer_id: id }),
      );
    const item = (id: string, plan: string) => ({
      pk: { S: key(id) },
      event_ts: { N: String(BigInt(Date.now()) * 1000n) },
      f: { M: { plan: { S: plan } } },
    });
    server = await startDynamoDbFaultServer((index, request) => {
      const asked = (request.body.RequestItems as Record<string, { Keys: unknown[] }>)[table];
      return index === 0
        ? ok({
            Responses: { [table]: [item('C1', 'gold')] },
            UnprocessedKeys: { [table]: { ...asked, Keys: [{ pk: { S: key('C2') } }] } },
          })
        : ok({ Responses: { [table]: [item('C2', 'silver')] } });
    });
    const response = await handlerOn(server.endpoint)(viewEvent(['C1', 'C2']), localLambdaContext);
    expect(response.statusCode).toBe(200);
    const results = JSON.parse(response.body).results as { features: Record<string, unknown> }[];
    expect(results.map((r) => r.features.plan)).toMatchObject([
      { value: 'gold', status: 'PRESENT' },
      { value: 'silver', status: 'PRESENT' },
    ]);
    expect(server.requests).toHaveLength(2);
    await server.close();
  });

  it('answers 500 INTERNAL without Retry-After for a malformed DynamoDB answer, which a retry would read again', async () => {
    server = await startDynamoDbFaultServer(() => ({
      status: 200,
      body: '{"Responses":{"t":[1]}}',
    }));
    const { result: response, entries } = await loggedEntries(() =>
      handlerOn(server.endpoint)(viewEvent(['C1']), localLambdaContextWithin(10_000, 'req-bad')),
    );
    expect(response.statusCode).toBe(500);
    expect(response.headers).not.toHaveProperty('retry-after');
    expect(JSON.parse(response.body).error).toMatchObject({
      code: 'INTERNAL',
      details: { requestId: 'req-bad' },
    });
    expect(entries).toEqual([
      expect.objectContaining({
        level: 'ERROR',
        errorType: 'MalformedResponse',
        detail: expect.stringContaining('Responses.t is not a list of items'),
      }),
    ]);
    expect(server.requests).toHaveLength(1);
    await server.close();
  });

  it('answers 500 INTERNAL after one attempt when DynamoDB cannot parse the request (SerializationException)', async () => {
    const text = `Start of structure or map found where not expected (${tableArn})`;
    server = await startDynamoDbFaultServer(() => dynamoError(400, 'SerializationException', text));
    const { result: response, entries } = await loggedEntries(() =>
      handlerOn(server.endpoint)(viewEvent(['C1']), localLambdaContextWithin(10_000, 'req-ser')),
    );
    expect(response.statusCode).toBe(500);
    expect(response.headers).not.toHaveProperty('retry-after');
    expect(JSON.parse(response.body).error.code).toBe('INTERNAL');
    for (const secret of [account, table, 'SerializationException'])
      expect(response.body).not.toContain(secret);
    expect(entries).toEqual([
      expect.objectContaining({
        level: 'ERROR',
        requestId: 'req-ser',
        errorType: 'SerializationException',
        detail: expect.stringContaining(text),
      }),
    ]);
    expect(server.requests).toHaveLength(1);
    await server.close();
  });
});
