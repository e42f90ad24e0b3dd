import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLookupHandler,
  localLambdaContext,
  readLookupConfig,
} from '../../lambdas/online-lookup/handler.ts';
import { type LocalDynamo, startDynalite } from '../../lib/local/dynalite-server.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { writeOnlineRows } from '../../lib/online/online-writer.ts';
import { sdkLoggerWithoutInfo } from '../../lib/online/sdk-logger.ts';
import { onlineRegistry } from '../helpers/online-registry.ts';

const { registry, profile } = onlineRegistry();
let dynamo: LocalDynamo;

describe('online-lookup Lambda handler against dynalite', () => {
  beforeAll(async () => {
    dynamo = await startDynalite();
  });
  afterAll(async () => dynamo.close());

  it('answers a POST with the values written, base64 bodies included', async () => {
    const client = localDynamoClient(dynamo.endpoint);
    await ensureLocalTable(client, 'fstore-test-online');
    const recent = new Date(Date.now() - 3_600_000).toISOString();
    await writeOnlineRows(client, 'fstore-test-online', profile, [
      { values: { customer_id: 'C1', plan: 'gold', charges: 3.5, tags: ['x'] }, eventTs: recent },
    ]);
    const handler = createLookupHandler({
      registry,
      client,
      config: readLookupConfig({ TABLE_NAME: 'fstore-test-online' }),
    });
    const body = JSON.stringify({ entities: [{ customer_id: 'C1' }], features: ['plan'] });
    const event = {
      rawPath: '/v1/feature-views/profile',
      body: Buffer.from(body).toString('base64'),
      isBase64Encoded: true,
      requestContext: { http: { method: 'POST' } },
    };
    const written: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stdout.write;
    const response = await handler(event, {
      functionName: 'online-lookup',
      awsRequestId: 'r1',
      getRemainingTimeInMillis: () => 10_000,
    } as never).finally(() => {
      process.stdout.write = write;
    });
    expect(response.statusCode).toBe(200);
    const emf = written
      .flatMap((line) => line.split('\n'))
      .filter((line) => line.includes('"_aws"'))
      .map((line) => JSON.parse(line));
    expect(emf).toHaveLength(1);
    expect(emf[0]).toMatchObject({
      EntitiesPerRequest: 1,
      NotFoundRate: 0,
      OutsideTtlRate: 0,
      service: 'online-lookup',
    });
    expect(emf[0].LookupLatency).toBeGreaterThan(0);
    expect(JSON.parse(response.body).results[0].features.plan).toMatchObject({
      value: 'gold',
      status: 'PRESENT',
    });
    client.destroy();
  });

  it('serves through a DynamoDB client whose logger has no info, which spares the SDK a copy of every response', async () => {
    const setup = localDynamoClient(dynamo.endpoint);
    await ensureLocalTable(setup, 'fstore-test-quiet');
    await writeOnlineRows(setup, 'fstore-test-quiet', profile, [
      {
        values: { customer_id: 'C7', plan: 'silver', charges: 1, tags: [] },
        eventTs: new Date(Date.now() - 60_000).toISOString(),
      },
    ]);
    setup.destroy();
    const infoEntries: unknown[] = [];
    const clientWith = (logger: DynamoDBClientConfig['logger']) =>
      new DynamoDBClient({
        endpoint: dynamo.endpoint,
        region: 'local',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        ...(logger ? { logger } : {}),
      });
    const withInfo = clientWith({
      ...sdkLoggerWithoutInfo,
      info: (entry: unknown) => infoEntries.push(entry),
    });
    const quiet = clientWith(sdkLoggerWithoutInfo);
    const event = {
      rawPath: '/v1/feature-views/profile',
      body: JSON.stringify({ entities: [{ customer_id: 'C7' }], features: ['plan'] }),
      requestContext: { http: { method: 'POST' } },
    };
    for (const client of [withInfo, quiet]) {
      const handler = createLookupHandler({
        registry,
        client,
        config: readLookupConfig({ TABLE_NAME: 'fstore-test-quiet' }),
      });
      const response = await handler(event, localLambdaContext);
      expect(JSON.parse(response.body).results[0].features.plan.value).toBe('silver');
      client.destroy();
    }
    // With an info function the SDK hands it the command's output; without one it has nothing to build.
    expect(infoEntries).toHaveLength(1);
    expect('info' in sdkLoggerWithoutInfo).toBe(false);
    expect(JSON.stringify(infoEntries[0])).toContain('Responses');
  });

  it('refuses a configuration without a table name at cold start', () => {
    expect(() => readLookupConfig({})).toThrow('online-lookup configuration: TABLE_NAME');
    expect(
      readLookupConfig({ TABLE_NAME: 'fstore-dev-online', MAX_ENTITIES: '50' }).maxEntities,
    ).toBe(50);
  });

  it.each([
    [{ TABLE_NAME: 'ab' }, 'TABLE_NAME: must be a table name of at least 3 characters'],
    [{ TABLE_NAME: 'abc', MAX_ENTITIES: 'many' }, 'MAX_ENTITIES: must be a number'],
    [{ TABLE_NAME: 'abc', MAX_ENTITIES: '0' }, 'MAX_ENTITIES: must be a positive whole number'],
    [
      { TABLE_NAME: 'abc', MAX_BODY_BYTES: '1.5' },
      'MAX_BODY_BYTES: must be a positive whole number',
    ],
    [{ TABLE_NAME: 'abc', CACHE_TTL_MS: '-1' }, 'CACHE_TTL_MS: must be a whole number, 0 or more'],
    [{ TABLE_NAME: 'abc', DEADLINE_MARGIN_MS: 'soon' }, 'DEADLINE_MARGIN_MS: must be a number'],
    [
      { TABLE_NAME: 'abc', DEADLINE_MARGIN_MS: '9500' },
      'DEADLINE_MARGIN_MS: must be at most 5000 (got 9500)',
    ],
  ])(
    'refuses the configuration %j at cold start, naming the variable and the rule',
    (env, message) => {
      expect(() => readLookupConfig(env)).toThrow(`online-lookup configuration: ${message}`);
    },
  );

  it('takes the documented defaults, a cache lifetime of 0 (off) and no margin (the invocation’s default applies)', () => {
    expect(readLookupConfig({ TABLE_NAME: 'abc', CACHE_TTL_MS: '0' })).toEqual({
      tableName: 'abc',
      maxEntities: 1000,
      maxBodyBytes: 262_144,
      cacheTtlMs: 0,
    });
    expect(
      readLookupConfig({ TABLE_NAME: 'abc', DEADLINE_MARGIN_MS: '800' }).deadlineMarginMs,
    ).toBe(800);
  });
});
