import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { readPushConfig } from '../../../lambdas/push/config.ts';
import { createPushHandler } from '../../../lambdas/push/handler.ts';
import { readStreamPushConfig } from '../../../lambdas/stream-push/config.ts';
import { createStreamPushHandler } from '../../../lambdas/stream-push/handler.ts';
import { clockSeq } from '../../../lib/offline/clock-seq.ts';
import { pushRegistryProjection } from '../../../lib/registry/runtime-projection.ts';
import { paymentRow, pushRegistry } from '../../helpers/push-registry.ts';

const registry = pushRegistryProjection(pushRegistry());
const dynamo = mockClient(DynamoDBClient);
const now = Date.parse('2026-03-01T12:00:00Z');
const at = new Date(now - 3_600_000).toISOString();
const context = {
  functionName: 'fstore-dev-push',
  awsRequestId: 'lambda-1',
  getRemainingTimeInMillis: () => 20_000,
};
const quiet = () => ({
  metrics: { addMetric: vi.fn(), publishStoredMetrics: vi.fn() },
  logger: { addContext: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() },
});
const seqsSent = () =>
  dynamo.commandCalls(PutItemCommand).map((c) => c.args[0].input.Item?.fstore_seq?.N);

beforeEach(() => {
  dynamo.reset();
  dynamo.on(PutItemCommand).resolves({});
});

describe('items written by the AWS push and stream functions', () => {
  it('carry the push time on the S3 store’s sequence clock, so rows ingested before the push never replace a tie', async () => {
    const push = createPushHandler({
      registry,
      client: new DynamoDBClient({ region: 'eu-west-1' }),
      config: readPushConfig({ TABLE_NAME: 'fstore-dev-online' }),
      now: () => now,
      ...quiet(),
    });
    const response = await push(
      {
        rawPath: '/v1/push/payments',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ rows: [paymentRow(at)], to: 'online' }),
        requestContext: { requestId: 'r1', http: { method: 'POST' } },
      },
      context,
    );
    expect(response.statusCode, response.body).toBe(200);
    expect(seqsSent().length).toBeGreaterThan(0);
    expect(new Set(seqsSent())).toEqual(new Set([String(clockSeq(now))]));
  });

  it('from a Kinesis record as well', async () => {
    const run = createStreamPushHandler({
      registry,
      client: new DynamoDBClient({ region: 'eu-west-1' }),
      config: readStreamPushConfig({
        TABLE_NAME: 'fstore-dev-online',
        SOURCE_NAME: 'payments',
        QUARANTINE_BUCKET: 'offline-bucket',
      }),
      quarantine: () => ({ location: 'memory', add: () => {}, flush: async () => {} }),
      now: () => now,
      ...quiet(),
    });
    const data = Buffer.from(JSON.stringify(paymentRow(at))).toString('base64');
    const outcome = await run(
      {
        Records: [
          {
            eventID: 'shardId-000000000000:1',
            kinesis: { data, sequenceNumber: '1', partitionKey: 'C1' },
          },
        ],
      },
      context,
    );
    expect(outcome).toEqual({ batchItemFailures: [] });
    expect(new Set(seqsSent())).toEqual(new Set([String(clockSeq(now))]));
  });
});
