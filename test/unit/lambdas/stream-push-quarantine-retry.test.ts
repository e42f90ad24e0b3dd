import {
  DynamoDBClient,
  ProvisionedThroughputExceededException,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { readStreamPushConfig } from '../../../lambdas/stream-push/config.ts';
import { createStreamPushHandler } from '../../../lambdas/stream-push/handler.ts';
import type { QuarantinedRow, QuarantineSink } from '../../../lib/materialize/quarantine.ts';
import { pushRegistryProjection } from '../../../lib/registry/runtime-projection.ts';
import { paymentRow, pushRegistry } from '../../helpers/push-registry.ts';

const registry = pushRegistryProjection(pushRegistry());
const dynamo = mockClient(DynamoDBClient);
const s3 = mockClient(S3Client);
const at = new Date(Date.now() - 3_600_000).toISOString();
const context = {
  functionName: 'fstore-dev-stream-payments',
  awsRequestId: 'lambda-1',
  getRemainingTimeInMillis: () => 50_000,
};
const throttle = () =>
  new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} });

/** A Kinesis record of shard 0 carrying `data` (an object is sent as its JSON). */
function record(data: unknown, sequence: number) {
  const bytes = Buffer.isBuffer(data)
    ? data
    : Buffer.from(typeof data === 'string' ? data : JSON.stringify(data));
  const sequenceNumber = `4959${String(sequence).padStart(6, '0')}`;
  return {
    eventID: `shardId-000000000000:${sequenceNumber}`,
    kinesis: {
      data: bytes.toString('base64'),
      sequenceNumber,
      partitionKey: 'C1',
      approximateArrivalTimestamp: 1_764_583_200.5,
    },
  };
}
const batch = (...data: unknown[]) => ({ Records: data.map((d, i) => record(d, i)) });
const payment = (customer: string, overrides: Record<string, unknown> = {}) =>
  paymentRow(at, { customer_id: customer, account_id: Number(customer.slice(1)), ...overrides });

/** The quarantine as stored: rows added and then flushed. */
function memoryQuarantine(options: { failFlush?: boolean } = {}) {
  const stored: QuarantinedRow[] = [];
  const runs: string[] = [];
  const sink = (run: { view: string; runId: string }): QuarantineSink => {
    runs.push(`${run.view}/${run.runId}`);
    let pending: QuarantinedRow[] = [];
    return {
      location: `memory:${run.view}`,
      add: (rows) => {
        pending.push(...rows);
      },
      flush: async () => {
        if (options.failFlush && pending.length > 0) throw new Error('S3 unavailable');
        stored.push(...pending);
        pending = [];
      },
    };
  };
  return { sink, stored, runs };
}

function handler(
  options: { concurrency?: number; quarantine?: ReturnType<typeof memoryQuarantine> } = {},
) {
  const metrics = { addMetric: vi.fn(), publishStoredMetrics: vi.fn() };
  const logger = { addContext: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() };
  const quarantine = options.quarantine ?? memoryQuarantine();
  const run = createStreamPushHandler({
    registry,
    client: new DynamoDBClient({ region: 'eu-west-1' }),
    config: readStreamPushConfig({
      TABLE_NAME: 'fstore-dev-online',
      SOURCE_NAME: 'payments',
      QUARANTINE_BUCKET: 'offline-bucket',
      WRITE_CONCURRENCY: String(options.concurrency ?? 16),
    }),
    quarantine: quarantine.sink,
    metrics,
    logger,
    writeOptions: { maxAttempts: 2, sleep: async () => {} },
  });
  return {
    metrics,
    logger,
    quarantine,
    invoke: (event: ReturnType<typeof batch>) => run(event, context),
  };
}

const metric = (metrics: { addMetric: ReturnType<typeof vi.fn> }, name: string) =>
  metrics.addMetric.mock.calls.find((c) => c[0] === name)?.[2];

beforeEach(() => {
  dynamo.reset();
  s3.reset();
});

describe('a refused record after the batch failure is quarantined once, not once per retry', () => {
  it('the record Lambda sends again (after the first failed one) is not stored in this invocation', async () => {
    dynamo.on(PutItemCommand).rejectsOnce(throttle()).rejectsOnce(throttle()).resolves({});
    const first = handler({ concurrency: 1 });
    const event = batch(payment('C1'), 'not json', payment('C3'));
    const answer = await first.invoke(event);
    expect(answer.batchItemFailures).toEqual([
      { itemIdentifier: event.Records[0]?.kinesis.sequenceNumber },
    ]);
    expect(first.quarantine.stored).toHaveLength(0);
    expect(metric(first.metrics, 'RecordsRejected')).toBe(0);
    // Lambda resends records 0..2: 'not json' is quarantined by this delivery only.
    const retry = handler({ concurrency: 1, quarantine: first.quarantine });
    await retry.invoke(event);
    expect(first.quarantine.stored).toHaveLength(1);
    expect(metric(retry.metrics, 'RecordsRejected')).toBe(1);
  });
});
