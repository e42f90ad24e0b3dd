import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type PutItem,
  signedPutItem,
} from '../../../lib/online/dynamodb-batch-get/signed-put-item.ts';
import { handlePush } from '../../../lib/push/handle-push.ts';
import { defaultPushLimits } from '../../../lib/push/push-limits.ts';
import { pushRegistryProjection } from '../../../lib/registry/runtime-projection.ts';
import {
  type DynamoDbFaultServer,
  dynamoError,
  type FaultAnswer,
  ok,
  startDynamoDbFaultServer,
} from '../../helpers/dynamodb-fault-server.ts';
import { paymentRow, pushRegistry } from '../../helpers/push-registry.ts';

const registry = pushRegistryProjection(pushRegistry());
const at = new Date(Date.now() - 3_600_000).toISOString();
const request = {
  method: 'POST',
  path: '/v1/push/payments',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ to: 'online', rows: [paymentRow(at)] }),
  requestId: 'req-1',
};

let server: DynamoDbFaultServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A push whose puts go to a fault server answering `answer(n)` to the n-th PutItem. */
async function pushThrough(answer: (index: number) => FaultAnswer, timeoutMs = 2_000) {
  server = await startDynamoDbFaultServer((index) => answer(index));
  const putItem: PutItem = signedPutItem({
    region: 'eu-west-1',
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 's' },
    endpoint: server.endpoint,
    timeoutMs,
    sleep: async () => {},
  });
  const logged: unknown[] = [];
  const response = await handlePush(request, {
    registry,
    limits: defaultPushLimits,
    // Never called: every put goes through putItem.
    client: new DynamoDBClient({ region: 'eu-west-1', endpoint: 'http://127.0.0.1:9' }),
    putItem,
    table: 'fstore-dev-online',
    onError: (error) => logged.push(error),
  });
  return { response, body: JSON.parse(response.body), requests: server.requests, logged };
}

describe('a push whose puts go through the signed PutItem client', () => {
  it('sends each put as a signed PutItem with its condition and counts it written', async () => {
    const { response, body, requests } = await pushThrough(() => ok({}));
    expect(response.statusCode).toBe(200);
    // payments has two online passthrough views: last_payment and account_flag.
    expect(body.online.written).toBe(requests.length);
    expect(requests.length).toBeGreaterThan(0);
    for (const sent of requests) {
      expect(sent.headers['x-amz-target']).toBe('DynamoDB_20120810.PutItem');
      expect(sent.body.TableName).toBe('fstore-dev-online');
      expect(sent.body.ConditionExpression).toMatch(/^attribute_not_exists\(#pk\) OR #e < :e/);
    }
  });

  it('counts a failed condition as skipped (the item holds a newer row), not as an error', async () => {
    const { response, body } = await pushThrough(() =>
      dynamoError(400, 'ConditionalCheckFailedException', 'The conditional request failed'),
    );
    expect(response.statusCode).toBe(200);
    expect(body.online.written).toBe(0);
    expect(body.online.skippedAsOlder).toBeGreaterThan(0);
  });

  it('retries throttling and 5xx answers, then writes', async () => {
    const { response, body, requests } = await pushThrough((index) =>
      index === 0
        ? dynamoError(400, 'ProvisionedThroughputExceededException', 'slow down')
        : index === 1
          ? dynamoError(500, 'InternalServerError', 'oops')
          : ok({}),
    );
    expect(response.statusCode).toBe(200);
    expect(body.online.written).toBe(requests.length - 2);
  });

  it('answers 503 STORE_UNAVAILABLE with Retry-After when DynamoDB keeps timing out', async () => {
    const { response, body, logged } = await pushThrough(() => 'hang', 50);
    expect(response.statusCode).toBe(503);
    expect(body.error.code).toBe('STORE_UNAVAILABLE');
    expect(response.headers?.['retry-after']).toBe('1');
    expect(String((logged[0] as Error).message)).toContain('did not answer within 50 ms');
  });

  it('answers 503 when DynamoDB keeps answering 503', async () => {
    const { response, body } = await pushThrough(() =>
      dynamoError(503, 'ServiceUnavailable', 'try later'),
    );
    expect(response.statusCode).toBe(503);
    expect(body.error.code).toBe('STORE_UNAVAILABLE');
  });

  it('answers 500 INTERNAL, not 503, when DynamoDB refuses the request for good (a retry would fail the same)', async () => {
    const { response, body, requests } = await pushThrough(() =>
      dynamoError(400, 'ResourceNotFoundException', 'Requested resource not found'),
    );
    expect(response.statusCode).toBe(500);
    expect(body.error.code).toBe('INTERNAL');
    expect(requests.length).toBeLessThanOrEqual(2); // one per view in flight, no retries
  });
});
