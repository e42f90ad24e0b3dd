import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { FirehoseClient, PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { readPushConfig } from '../../../lambdas/push/config.ts';
import { createPushHandler } from '../../../lambdas/push/handler.ts';
import { firehoseOfflineSink } from '../../../lib/push/firehose-offline-sink.ts';
import { pushStreamName } from '../../../lib/push/firehose-staging.ts';
import { pushRegistryProjection } from '../../../lib/registry/runtime-projection.ts';
import { paymentRow, pushRegistry } from '../../helpers/push-registry.ts';

const registry = pushRegistryProjection(pushRegistry());
const dynamo = mockClient(DynamoDBClient);
const firehose = mockClient(FirehoseClient);
const at = '2026-03-01T12:00:00.123456Z';
const context = {
  functionName: 'fstore-dev-push',
  awsRequestId: 'lambda-1',
  getRemainingTimeInMillis: () => 20_000,
};

function handler() {
  const sleeps: number[] = [];
  const push = createPushHandler({
    registry,
    client: new DynamoDBClient({ region: 'eu-west-1' }),
    config: readPushConfig({ TABLE_NAME: 'fstore-dev-online', PUSH_STREAMS_ENV: 'dev' }),
    metrics: { addMetric: vi.fn(), publishStoredMetrics: vi.fn() },
    logger: { addContext: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() },
    now: () => Date.parse('2026-03-01T13:00:00Z'),
    offline: firehoseOfflineSink({
      client: new FirehoseClient({ region: 'eu-west-1' }),
      streamName: (source) => pushStreamName('dev', source),
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      newPushId: () => 'f'.repeat(32),
    }),
  });
  return {
    sleeps,
    invoke: async (body: unknown) => {
      const response = await push(
        {
          rawPath: '/v1/push/payments',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
          requestContext: { requestId: 'api-req-1', http: { method: 'POST' } },
        },
        context,
      );
      return { ...response, json: JSON.parse(response.body) };
    },
  };
}

const sentRecords = () =>
  firehose
    .commandCalls(PutRecordBatchCommand)
    .map(
      (c) =>
        c.args[0].input.Records?.map((r) =>
          JSON.parse(Buffer.from(r.Data as Uint8Array).toString('utf8')),
        ) ?? [],
    );

beforeEach(() => {
  dynamo.reset();
  firehose.reset();
  dynamo.on(PutItemCommand).resolves({});
});

describe('the push Lambda with an offline target (Firehose mocked)', () => {
  it('sends every row to the source stream as one record with the push identity, then writes online and answers 200', async () => {
    firehose.on(PutRecordBatchCommand).resolves({ FailedPutCount: 0, RequestResponses: [] });
    const answer = await handler().invoke({
      rows: [paymentRow(at), paymentRow(at, { customer_id: 'C2', account_id: '9007199254740993' })],
    });
    expect(answer.statusCode).toBe(200);
    expect(answer.json).toMatchObject({ to: 'online_and_offline', offline: { rows: 2 } });
    const calls = firehose.commandCalls(PutRecordBatchCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input.DeliveryStreamName).toBe('fstore-dev-push-payments');
    const [records] = sentRecords();
    expect(records).toHaveLength(2);
    expect(records?.[0]).toMatchObject({
      customer_id: 'C1',
      event_ts: 1772366400123456,
      fstore_push_row: 0,
      fstore_idempotency_key: null,
    });
    expect(records?.[1]?.fstore_push_row).toBe(1);
    expect(records?.[0]?.fstore_push_id).toEqual(expect.stringMatching(/^[0-9a-f-]+$/));
    expect(records?.[1]?.fstore_push_id).toBe(records?.[0]?.fstore_push_id);
    // The push time its online items rank by, then its id: compaction's order (ADR 0020).
    expect(records?.[1]?.fstore_push_key).toBe(
      `20260301T130000.000000-${records?.[0]?.fstore_push_id}`,
    );
    expect(dynamo.commandCalls(PutItemCommand).length).toBeGreaterThan(0);
  });

  it('writes timestamps as epoch microseconds and int64 past 2^53 digit for digit', async () => {
    firehose.on(PutRecordBatchCommand).resolves({ FailedPutCount: 0 });
    await handler().invoke({
      to: 'offline',
      rows: [paymentRow(at, { account_id: '9223372036854775807' })],
    });
    const data = Buffer.from(
      firehose.commandCalls(PutRecordBatchCommand)[0]?.args[0].input.Records?.[0]
        ?.Data as Uint8Array,
    ).toString('utf8');
    expect(data).toContain('"account_id":9223372036854775807');
    expect(data).toContain('"event_ts":1772366400123456');
  });

  it('resends only the records a call reported failed, with backoff, and answers 200 once all are accepted', async () => {
    firehose
      .on(PutRecordBatchCommand)
      .resolvesOnce({
        FailedPutCount: 1,
        RequestResponses: [{ RecordId: 'a' }, { ErrorCode: 'ServiceUnavailableException' }],
      })
      .resolves({ FailedPutCount: 0, RequestResponses: [{ RecordId: 'b' }] });
    const { invoke, sleeps } = handler();
    const answer = await invoke({
      to: 'offline',
      rows: [paymentRow(at), paymentRow(at, { customer_id: 'C2' })],
    });
    expect(answer.statusCode).toBe(200);
    const batches = sentRecords();
    expect(batches.map((b) => b.length)).toEqual([2, 1]);
    expect(batches[1]?.[0]?.customer_id).toBe('C2');
    expect(sleeps).toHaveLength(1);
  });

  it('answers 503 after the retries when Firehose keeps refusing a record, reports nothing offline and writes nothing online', async () => {
    firehose.on(PutRecordBatchCommand).resolves({
      FailedPutCount: 1,
      RequestResponses: [{ ErrorCode: 'ServiceUnavailableException' }],
    });
    const answer = await handler().invoke({ rows: [paymentRow(at)] });
    expect(answer.statusCode).toBe(503);
    expect(answer.json.error.code).toBe('STORE_UNAVAILABLE');
    expect(answer.json.offline).toBeUndefined();
    expect(answer.json.error.message).toContain('the offline push buffer');
    expect(answer.json.error.message).not.toContain('online store failed');
    expect(firehose.commandCalls(PutRecordBatchCommand)).toHaveLength(4);
    expect(dynamo.commandCalls(PutItemCommand)).toHaveLength(0);
  });

  it('answers 503 when the Firehose call itself fails with a service error', async () => {
    firehose
      .on(PutRecordBatchCommand)
      .rejects(
        Object.assign(new Error('down'), { name: 'ServiceUnavailableException', $fault: 'server' }),
      );
    const answer = await handler().invoke({ to: 'offline', rows: [paymentRow(at)] });
    expect(answer.statusCode).toBe(503);
    expect(answer.json.error.message).toContain('the offline push buffer');
    expect(answer.json.error.message).not.toContain('online store failed');
  });

  it('carries the identity executePush gives (an Idempotency-Key scope) on every record', async () => {
    firehose.on(PutRecordBatchCommand).resolves({ FailedPutCount: 0 });
    const sink = firehoseOfflineSink({
      client: new FirehoseClient({ region: 'eu-west-1' }),
      streamName: () => 's',
    });
    const source = registry.sources.find((s) => s.name === 'audit');
    if (!source) throw new Error('no audit source');
    const row = { index: 0, values: { customer_id: 'C1', note: 'x', event_ts: at }, eventTs: 0n };
    await sink(source, [row, { ...row, index: 1 }], {
      pushId: 'a'.repeat(32),
      idempotencyKey: 'order-17',
    });
    await sink(source, [row]);
    const [keyed, plain] = sentRecords();
    expect(
      keyed?.map((r) => [r.fstore_push_id, r.fstore_push_row, r.fstore_idempotency_key]),
    ).toEqual([
      ['a'.repeat(32), 0, 'order-17'],
      ['a'.repeat(32), 1, 'order-17'],
    ]);
    expect(plain?.[0]?.fstore_push_id).toMatch(/^[0-9a-f]{32}$/);
    expect(plain?.[0]?.fstore_push_id).not.toBe('a'.repeat(32));
  });

  it('splits a push into calls of at most 500 records', async () => {
    firehose.on(PutRecordBatchCommand).resolves({ FailedPutCount: 0 });
    const sink = firehoseOfflineSink({
      client: new FirehoseClient({ region: 'eu-west-1' }),
      streamName: () => 's',
    });
    const source = registry.sources.find((s) => s.name === 'audit');
    if (!source) throw new Error('no audit source');
    const rows = Array.from({ length: 1_001 }, (_, index) => ({
      index,
      values: { customer_id: `C${index}`, note: null, event_ts: at },
      eventTs: 0n,
    }));
    await sink(source, rows);
    expect(
      firehose.commandCalls(PutRecordBatchCommand).map((c) => c.args[0].input.Records?.length),
    ).toEqual([500, 500, 1]);
  });
});

describe('the push configuration', () => {
  it('refuses a PUSH_STREAMS_ENV that is no environment name, naming the variable', () => {
    expect(() =>
      readPushConfig({ TABLE_NAME: 'fstore-dev-online', PUSH_STREAMS_ENV: 'Dev Env' }),
    ).toThrow(/PUSH_STREAMS_ENV/);
  });
});
