import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readPushConfig } from '../../../lambdas/push/config.ts';
import { createPushHandler } from '../../../lambdas/push/handler.ts';
import { putItemFromEnvironment } from '../../../lib/online/dynamodb-batch-get/from-environment.ts';
import { pushRegistryProjection } from '../../../lib/registry/runtime-projection.ts';
import {
  type DynamoDbFaultServer,
  ok,
  startDynamoDbFaultServer,
} from '../../helpers/dynamodb-fault-server.ts';
import { paymentRow, pushRegistry } from '../../helpers/push-registry.ts';

const registry = pushRegistryProjection(pushRegistry());
const dynamo = mockClient(DynamoDBClient);
const context = {
  functionName: 'fstore-dev-push',
  awsRequestId: 'lambda-1',
  getRemainingTimeInMillis: () => 20_000,
};

let server: DynamoDbFaultServer | undefined;
afterEach(async () => {
  dynamo.reset();
  await server?.close();
  server = undefined;
});

describe('the push Lambda with the signed PutItem client from its environment', () => {
  it('sends every online put through the signed client, none through the SDK client', async () => {
    server = await startDynamoDbFaultServer(() => ok({}));
    const putItem = putItemFromEnvironment({
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AKIDTEST',
      AWS_SECRET_ACCESS_KEY: 's',
      AWS_SESSION_TOKEN: 'token-1',
      AWS_ENDPOINT_URL_DYNAMODB: server.endpoint,
    });
    const push = createPushHandler({
      registry,
      client: new DynamoDBClient({ region: 'eu-west-1' }),
      putItem,
      config: readPushConfig({ TABLE_NAME: 'fstore-dev-online' }),
      metrics: { addMetric: vi.fn(), publishStoredMetrics: vi.fn() },
      logger: { addContext: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() },
    });
    const at = new Date(Date.now() - 3_600_000).toISOString();
    const response = await push(
      {
        rawPath: '/v1/push/payments',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ to: 'online', rows: [paymentRow(at)] }),
        requestContext: { requestId: 'api-req-1', http: { method: 'POST' } },
      },
      context,
    );
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body).online.written).toBe(server.requests.length);
    expect(server.requests.length).toBeGreaterThan(0);
    for (const sent of server.requests) {
      expect(sent.headers['x-amz-target']).toBe('DynamoDB_20120810.PutItem');
      expect(sent.headers['x-amz-security-token']).toBe('token-1');
    }
    expect(dynamo.commandCalls(PutItemCommand)).toHaveLength(0);
  });

  it('names the missing variable when the signed client cannot be built (the entry then keeps the SDK client)', () => {
    expect(() => putItemFromEnvironment({ AWS_REGION: 'eu-west-1' })).toThrow(
      'push DynamoDB client: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY are not set',
    );
  });
});
