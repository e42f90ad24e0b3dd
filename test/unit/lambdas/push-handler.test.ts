import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  ProvisionedThroughputExceededException,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { readPushConfig } from '../../../lambdas/push/config.ts';
import { createPushHandler } from '../../../lambdas/push/handler.ts';
import { dynamoPushIdempotency } from '../../../lib/push/push-idempotency.ts';
import { pushRegistryProjection } from '../../../lib/registry/runtime-projection.ts';
import { paymentRow, pushRegistry } from '../../helpers/push-registry.ts';

const registry = pushRegistryProjection(pushRegistry());
const dynamo = mockClient(DynamoDBClient);
const at = new Date(Date.now() - 3_600_000).toISOString();
const context = {
  functionName: 'fstore-dev-push',
  awsRequestId: 'lambda-1',
  getRemainingTimeInMillis: () => 20_000,
};
const throttle = () =>
  new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} });

function event(body: unknown, path = '/v1/push/payments', key?: string) {
  return {
    rawPath: path,
    headers: {
      'content-type': 'application/json',
      ...(key === undefined ? {} : { 'idempotency-key': key }),
    },
    body: JSON.stringify(body),
    requestContext: { requestId: 'api-req-1', http: { method: 'POST' } },
  };
}

function handler(options: { idempotency?: boolean } = {}) {
  const metrics = { addMetric: vi.fn(), publishStoredMetrics: vi.fn() };
  const logger = { addContext: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() };
  const client = new DynamoDBClient({ region: 'eu-west-1' });
  const push = createPushHandler({
    registry,
    client,
    config: readPushConfig({ TABLE_NAME: 'fstore-dev-online' }),
    metrics,
    logger,
    ...(options.idempotency
      ? {
          idempotency: dynamoPushIdempotency({
            client,
            table: 'fstore-dev-push-idempotency',
            expiresAfterSeconds: 60,
            inProgressExpiryMs: 28_000,
          }),
        }
      : {}),
  });
  return {
    metrics,
    logger,
    invoke: async (body: unknown, path?: string, key?: string) => {
      const response = await push(event(body, path, key), context);
      return { ...response, json: JSON.parse(response.body) };
    },
  };
}

beforeEach(() => dynamo.reset());
afterEach(() => vi.restoreAllMocks());

describe('the push Lambda (AWS SDK mocked)', () => {
  it('writes each row to every online passthrough view with a conditional PutItem and answers the counts', async () => {
    dynamo.on(PutItemCommand).resolves({});
    const { invoke, metrics } = handler();
    const answer = await invoke({
      to: 'online',
      rows: [paymentRow(at), paymentRow(at, { customer_id: 'C2', account_id: 8 })],
    });
    expect(answer.statusCode).toBe(200);
    expect(answer.json).toMatchObject({
      source: 'payments',
      rows: 2,
      to: 'online',
      online: { written: 4, skippedAsOlder: 0 },
    });
    const puts = dynamo.commandCalls(PutItemCommand).map((c) => c.args[0].input);
    expect(puts).toHaveLength(4);
    for (const put of puts) {
      expect(put.TableName).toBe('fstore-dev-online');
      expect(put.ConditionExpression).toEqual(expect.any(String));
    }
    expect(metrics.addMetric).toHaveBeenCalledWith('RowsPushed', 'Count', 2);
    expect(metrics.publishStoredMetrics).toHaveBeenCalledOnce();
  });

  it('counts a failed condition as skipped as older, not as an error', async () => {
    dynamo
      .on(PutItemCommand)
      .rejects(new ConditionalCheckFailedException({ message: 'newer', $metadata: {} }));
    const answer = await handler().invoke({ to: 'online', rows: [paymentRow(at)] });
    expect(answer.statusCode).toBe(200);
    expect(answer.json.online).toMatchObject({ written: 0, skippedAsOlder: 2 });
  });

  it('answers 400 INVALID_ROW naming the row and field, and writes nothing', async () => {
    const { invoke, metrics } = handler();
    const answer = await invoke({
      to: 'online',
      rows: [paymentRow(at), paymentRow(at, { amount: 'lots' })],
    });
    expect(answer.statusCode).toBe(400);
    expect(answer.json.error).toMatchObject({
      code: 'INVALID_ROW',
      details: { path: '$.rows[1].amount', row: 1, field: 'amount' },
    });
    expect(dynamo.commandCalls(PutItemCommand)).toHaveLength(0);
    expect(metrics.addMetric).toHaveBeenCalledWith('ClientErrors', 'Count', 1);
  });

  it('answers 501 OFFLINE_PUSH_UNAVAILABLE for the default target and "offline" (no offline sink on AWS yet), writing nothing', async () => {
    const { invoke } = handler();
    for (const body of [{ rows: [paymentRow(at)] }, { to: 'offline', rows: [paymentRow(at)] }]) {
      const answer = await invoke(body);
      expect(answer.statusCode).toBe(501);
      expect(answer.json.error).toMatchObject({
        code: 'OFFLINE_PUSH_UNAVAILABLE',
        details: { path: '$.to', supported: ['online'] },
      });
      expect(answer.json.error.message).toContain('send "to": "online"');
    }
    expect(dynamo.commandCalls(PutItemCommand)).toHaveLength(0);
  });

  it('checks the rows before refusing an offline target: a bad row is still a 400', async () => {
    const answer = await handler().invoke({ rows: [paymentRow(at, { event_ts: null })] });
    expect(answer.statusCode).toBe(400);
    expect(answer.json.error.code).toBe('INVALID_ROW');
  });

  it('answers 503 STORE_UNAVAILABLE with retry-after when DynamoDB keeps throttling, and logs the cause', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0); // no backoff sleeps
    dynamo.on(PutItemCommand).rejects(throttle());
    const { invoke, logger, metrics } = handler();
    const answer = await invoke({ to: 'online', rows: [paymentRow(at)] });
    expect(answer.statusCode).toBe(503);
    expect(answer.headers['retry-after']).toBe('1');
    expect(answer.json.error).toMatchObject({
      code: 'STORE_UNAVAILABLE',
      details: { requestId: 'api-req-1' },
    });
    expect(answer.json.error.message).toContain('retrying the same push is safe');
    // Each put was retried before giving up (8 attempts each by default).
    expect(dynamo.commandCalls(PutItemCommand).length).toBeGreaterThanOrEqual(8);
    expect(logger.error).toHaveBeenCalledWith(
      'push failed',
      expect.objectContaining({ requestId: 'api-req-1' }),
    );
    expect(metrics.addMetric).toHaveBeenCalledWith('ServerErrors', 'Count', 1);
  });

  it('answers 503 for a partly written batch: the puts that succeeded stay, and the answer says a retry is safe', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    dynamo.on(PutItemCommand).resolvesOnce({}).resolvesOnce({}).rejects(throttle());
    const answer = await handler().invoke({
      to: 'online',
      rows: [paymentRow(at), paymentRow(at, { customer_id: 'C2', account_id: 8 })],
    });
    expect(answer.statusCode).toBe(503);
    expect(answer.json.error.message).toContain('some rows may be written');
    const calls = dynamo.commandCalls(PutItemCommand);
    expect(calls.length).toBeGreaterThan(4);
  });

  it('answers 404 UNKNOWN_SOURCE with the known names, writing nothing', async () => {
    const { invoke } = handler();
    const unknown = await invoke({ to: 'online', rows: [paymentRow(at)] }, '/v1/push/paymnts');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json.error.details.known).toEqual(['audit', 'payments']);
    expect(dynamo.commandCalls(PutItemCommand)).toHaveLength(0);
  });
});

describe('the push Lambda with Idempotency-Key records (AWS SDK mocked)', () => {
  it('answers 503 and writes no row when the records table throttles, logging the cause', async () => {
    dynamo
      .on(PutItemCommand, { TableName: 'fstore-dev-push-idempotency' })
      .rejects(throttle())
      .on(PutItemCommand, { TableName: 'fstore-dev-online' })
      .resolves({});
    const { invoke, logger } = handler({ idempotency: true });
    const answer = await invoke({ to: 'online', rows: [paymentRow(at)] }, undefined, 'k-1');
    expect(answer.statusCode).toBe(503);
    expect(answer.json.error.code).toBe('STORE_UNAVAILABLE');
    const tables = dynamo.commandCalls(PutItemCommand).map((c) => c.args[0].input.TableName);
    expect(tables).not.toContain('fstore-dev-online');
    expect(logger.error).toHaveBeenCalledWith(
      'push failed',
      expect.objectContaining({
        error: expect.objectContaining({ name: 'IdempotencyStoreError' }),
      }),
    );
  });

  it('records the key in progress with a conditional put before the rows, then stores the answer', async () => {
    dynamo.on(PutItemCommand).resolves({});
    const answer = await handler({ idempotency: true }).invoke(
      { to: 'online', rows: [paymentRow(at)] },
      undefined,
      'k-2',
    );
    expect(answer.statusCode).toBe(200);
    const puts = dynamo.commandCalls(PutItemCommand).map((c) => c.args[0].input);
    expect(puts[0]).toMatchObject({
      TableName: 'fstore-dev-push-idempotency',
      ConditionExpression: expect.stringContaining('attribute_not_exists(#id)'),
      Item: { pk: { S: expect.stringMatching(/^fstore-push#/) }, status: { S: 'INPROGRESS' } },
    });
    expect(puts.slice(1).every((p) => p.TableName === 'fstore-dev-online')).toBe(true);
  });
});

describe('readPushConfig', () => {
  it('takes the table and the default limits', () => {
    expect(readPushConfig({ TABLE_NAME: 'fstore-dev-online' })).toEqual({
      tableName: 'fstore-dev-online',
      limits: { maxRows: 1000, maxBodyBytes: 262_144, maxFutureSkewSeconds: 300 },
    });
  });

  it('refuses a missing table and a limit that is not a positive whole number, naming the variable', () => {
    expect(() => readPushConfig({})).toThrow('push configuration: TABLE_NAME: is required');
    expect(() => readPushConfig({ TABLE_NAME: 'fstore-dev-online', MAX_ROWS: '0' })).toThrow(
      'push configuration: MAX_ROWS: must be a whole number, 1 or more (got "0")',
    );
    expect(() => readPushConfig({ TABLE_NAME: 'fstore-dev-online', MAX_ROWS: '1.5' })).toThrow(
      'MAX_ROWS',
    );
  });
});
