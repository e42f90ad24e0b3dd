import {
  DynamoDBClient,
  ProvisionedThroughputExceededException,
  PutItemCommand,
  type PutItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import {
  readStreamPushConfig,
  streamQuarantinePrefix,
} from '../../../lambdas/stream-push/config.ts';
import { createStreamPushHandler } from '../../../lambdas/stream-push/handler.ts';
import {
  type QuarantinedRow,
  type QuarantineSink,
  s3Quarantine,
} from '../../../lib/materialize/quarantine.ts';
import { pushRegistryProjection } from '../../../lib/registry/runtime-projection.ts';
import { paymentRow, pushRegistry } from '../../helpers/push-registry.ts';

const registry = pushRegistryProjection(pushRegistry());
const dynamo = mockClient(DynamoDBClient);
const s3 = mockClient(S3Client);
const at = new Date(Date.now() - 3_600_000).toISOString();
const later = new Date(Date.now() - 1_800_000).toISOString();
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

type OfflineSink = NonNullable<Parameters<typeof createStreamPushHandler>[0]['offline']>;

function handler(
  options: {
    concurrency?: number;
    quarantine?: ReturnType<typeof memoryQuarantine>;
    offline?: OfflineSink;
  } = {},
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
    ...(options.offline ? { offline: options.offline } : {}),
  });
  return {
    metrics,
    logger,
    quarantine,
    invoke: (event: ReturnType<typeof batch>) => run(event, context),
  };
}

const puts = () => dynamo.commandCalls(PutItemCommand).map((c) => c.args[0].input);
const keysWritten = () => puts().map((p) => p.Item?.pk?.S?.split('#').at(-1));
const metric = (metrics: { addMetric: ReturnType<typeof vi.fn> }, name: string) =>
  metrics.addMetric.mock.calls.find((c) => c[0] === name)?.[2];

beforeEach(() => {
  dynamo.reset();
  s3.reset();
});

describe('the stream function (Kinesis events, AWS SDK mocked)', () => {
  it('writes each record as one row to every online passthrough view with a conditional put', async () => {
    dynamo.on(PutItemCommand).resolves({});
    const { invoke, metrics } = handler();
    const answer = await invoke(batch(payment('C1'), payment('C2')));
    expect(answer).toEqual({ batchItemFailures: [] });
    expect(keysWritten().sort()).toEqual([
      'account_id=1',
      'account_id=2',
      'customer_id=C1',
      'customer_id=C2',
    ]);
    for (const put of puts()) expect(put.ConditionExpression).toContain('#e < :e');
    expect(metric(metrics, 'RecordsIn')).toBe(2);
    expect(metric(metrics, 'RowsWritten')).toBe(4);
    expect(metric(metrics, 'RecordsRejected')).toBe(0);
    expect(metrics.publishStoredMetrics).toHaveBeenCalledOnce();
  });

  it('quarantines records that can never be written, with their reason and position, and reports them done', async () => {
    dynamo.on(PutItemCommand).resolves({});
    const { invoke, metrics, quarantine, logger } = handler();
    const answer = await invoke(
      batch(
        payment('C1'),
        '{"customer_id": "C2",',
        Buffer.from([0xff, 0xfe, 0x41]),
        payment('C4', { amount: 20_000 }),
        payment('C5', { colour: 'red' }),
        { ...payment('C6'), status: undefined },
        [payment('C7')],
        payment('C8'),
      ),
    );
    expect(answer).toEqual({ batchItemFailures: [] });
    expect(keysWritten().sort()).toEqual([
      'account_id=1',
      'account_id=8',
      'customer_id=C1',
      'customer_id=C8',
    ]);
    expect(quarantine.runs).toEqual([`payments/${new Date().toISOString().slice(0, 10)}`]);
    expect(quarantine.stored.map((q) => q.reasons)).toEqual([
      [expect.stringMatching(/^the record is not JSON: /)],
      ['the record is not UTF-8 text'],
      [expect.stringMatching(/^amount: .*10000.*\(view "last_payment"\)$/)],
      [expect.stringMatching(/^colour: is not a column of source "payments"/)],
      ['status: is missing; send null for no value'],
      ['must be an object of column name → value'],
    ]);
    expect(quarantine.stored[0]?.row).toEqual({
      kinesis: {
        shardId: 'shardId-000000000000',
        sequenceNumber: '4959000001',
        partitionKey: 'C1',
        approximateArrivalTimestamp: '2025-12-01T10:00:00.500Z',
      },
      data: '{"customer_id": "C2",',
    });
    expect(quarantine.stored[1]?.row.data).toBe(Buffer.from([0xff, 0xfe, 0x41]).toString('base64'));
    expect(quarantine.stored[2]?.row.data).toMatchObject({ customer_id: 'C4', amount: 20_000 });
    expect(metric(metrics, 'RecordsRejected')).toBe(6);
    expect(logger.warn).toHaveBeenCalledWith('stream records quarantined', {
      records: 6,
      quarantine: 'memory:payments',
    });
  });

  it('writes a record repeated in the batch once', async () => {
    dynamo.on(PutItemCommand).resolves({});
    const { invoke, metrics } = handler();
    const answer = await invoke(batch(payment('C1'), payment('C2'), payment('C1')));
    expect(answer).toEqual({ batchItemFailures: [] });
    expect(keysWritten().sort()).toEqual([
      'account_id=1',
      'account_id=2',
      'customer_id=C1',
      'customer_id=C2',
    ]);
    expect(metric(metrics, 'RecordsDuplicate')).toBe(1);
  });

  it('sends only the later of two records for the same entity and times, as the later of two tied pushes wins', async () => {
    dynamo.on(PutItemCommand).resolves({});
    const { invoke, metrics } = handler();
    await invoke(
      batch(
        payment('C1', { amount: 1 }),
        payment('C1', { amount: 2 }),
        payment('C1', { event_ts: later, created_ts: later }),
      ),
    );
    const amounts = puts()
      .filter((p) => p.Item?.pk?.S?.endsWith('customer_id=C1'))
      .map((p) => [p.Item?.event_ts?.N, p.Item?.f?.M?.amount?.N]);
    expect(amounts).toHaveLength(2);
    expect(amounts).toContainEqual([expect.any(String), '2']);
    expect(amounts).not.toContainEqual([expect.any(String), '1']);
    expect(metric(metrics, 'RecordsSuperseded')).toBe(1);
  });

  it('reports the first record whose write kept failing, and sends nothing after it (one put at a time)', async () => {
    const throttled = (input: PutItemCommandInput) => input.Item?.pk?.S?.endsWith('customer_id=C3');
    dynamo.on(PutItemCommand).callsFake((input: PutItemCommandInput) => {
      if (throttled(input)) throw throttle();
      return {};
    });
    const { invoke, metrics, logger } = handler({ concurrency: 1 });
    const answer = await invoke(
      batch(payment('C1'), '{bad', payment('C3'), payment('C4'), payment('C5')),
    );
    expect(answer).toEqual({ batchItemFailures: [{ itemIdentifier: '4959000002' }] });
    expect(keysWritten().filter((k) => k?.endsWith('C4') || k?.endsWith('C5'))).toEqual([]);
    expect(keysWritten().filter((k) => k === 'customer_id=C3')).toHaveLength(2); // two attempts
    expect(metric(metrics, 'RecordsRetried')).toBe(3);
    expect(metric(metrics, 'RecordsRejected')).toBe(1);
    expect(logger.error).toHaveBeenCalledWith(
      expect.stringContaining('not written'),
      expect.objectContaining({ sequenceNumber: '4959000002' }),
    );
  });

  it('reports the earliest failed record when later ones fail too, with puts in parallel', async () => {
    dynamo.on(PutItemCommand).callsFake((input: PutItemCommandInput) => {
      if (/customer_id=C(2|4)$/.test(input.Item?.pk?.S ?? '')) throw throttle();
      return {};
    });
    const { invoke } = handler({ concurrency: 16 });
    const answer = await invoke(batch(payment('C1'), payment('C2'), payment('C3'), payment('C4')));
    expect(answer).toEqual({ batchItemFailures: [{ itemIdentifier: '4959000001' }] });
  });

  it('retries from the first rejected record when the quarantine cannot be stored', async () => {
    dynamo.on(PutItemCommand).resolves({});
    const quarantine = memoryQuarantine({ failFlush: true });
    const { invoke, logger } = handler({ quarantine });
    const answer = await invoke(batch(payment('C1'), payment('C2'), 'not json', payment('C4')));
    expect(answer).toEqual({ batchItemFailures: [{ itemIdentifier: '4959000002' }] });
    expect(logger.error).toHaveBeenCalledWith(
      'quarantine not stored; its records are retried',
      expect.anything(),
    );
  });

  it('stores each record offline first, alone, under a push id its redelivery keeps', async () => {
    const order: string[] = [];
    dynamo.on(PutItemCommand).callsFake(() => {
      order.push('online');
      return {};
    });
    const offline = vi.fn<OfflineSink>(async () => {
      order.push('offline');
    });
    const { invoke } = handler({ offline, concurrency: 1 });
    await invoke(batch(payment('C1'), 'bad', payment('C3'), payment('C3')));
    expect(
      offline.mock.calls.map(([source, rows, identity]) => [
        source.name,
        rows.map((r) => r.values.customer_id),
        identity,
      ]),
    ).toEqual([
      [
        'payments',
        ['C1'],
        {
          pushId: 'kinesis-shardId-000000000000-4959000000',
          tiles: [],
          pushedAtMs: expect.any(Number),
        },
      ],
      [
        'payments',
        ['C3'],
        {
          pushId: 'kinesis-shardId-000000000000-4959000002',
          tiles: [],
          pushedAtMs: expect.any(Number),
        },
      ],
    ]);
    // The batch's time, which its online items rank by: compaction's order (staged push key).
    const [first, second] = offline.mock.calls.map(([, , identity]) => identity.pushedAtMs);
    expect(second).toBe(first);
    expect(order.slice(0, 2)).toEqual(['offline', 'offline']);
    expect(order.filter((o) => o === 'online')).toHaveLength(4);
  });

  it('retries from the first record not stored offline, writing it and later ones nowhere online', async () => {
    dynamo.on(PutItemCommand).resolves({});
    const offline = vi.fn<OfflineSink>(async (_source, rows) => {
      if (rows[0]?.values.customer_id === 'C2') throw new Error('Firehose unavailable');
    });
    const { invoke, logger } = handler({ offline });
    const answer = await invoke(batch(payment('C1'), payment('C2'), payment('C3')));
    expect(answer).toEqual({ batchItemFailures: [{ itemIdentifier: '4959000001' }] });
    expect(keysWritten().sort()).toEqual(['account_id=1', 'customer_id=C1']);
    expect(logger.error).toHaveBeenCalledWith(
      expect.stringContaining('not stored offline'),
      expect.objectContaining({ sequenceNumber: '4959000001' }),
    );
  });

  it('answers an empty batch with no failures and writes nothing', async () => {
    const { invoke } = handler();
    expect(await invoke({ Records: [] })).toEqual({ batchItemFailures: [] });
    expect(puts()).toEqual([]);
  });

  it('stores quarantined records as JSON lines under quarantine/_stream/<source>/<day>/ in the offline bucket', async () => {
    dynamo.on(PutItemCommand).resolves({});
    s3.on(PutObjectCommand).resolves({});
    const clock = Date.now();
    const day = new Date(clock).toISOString().slice(0, 10);
    const run = createStreamPushHandler({
      registry,
      client: new DynamoDBClient({ region: 'eu-west-1' }),
      config: readStreamPushConfig({
        TABLE_NAME: 'fstore-dev-online',
        SOURCE_NAME: 'payments',
        QUARANTINE_BUCKET: 'offline-bucket',
      }),
      quarantine: (r) =>
        s3Quarantine(
          new S3Client({ region: 'eu-west-1' }),
          'offline-bucket',
          streamQuarantinePrefix,
          r,
        ),
      metrics: { addMetric: vi.fn(), publishStoredMetrics: vi.fn() },
      logger: { addContext: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() },
      now: () => clock,
    });
    await run(batch(payment('C1'), 'oops'), context);
    const [object] = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(object?.Bucket).toBe('offline-bucket');
    expect(object?.Key).toMatch(
      new RegExp(`^quarantine/_stream/payments/${day}/[\\w-]+-part-00001\\.jsonl$`),
    );
    const lines = String(object?.Body)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toEqual([
      {
        view: 'payments',
        runId: day,
        reasons: [expect.stringMatching(/^the record is not JSON/)],
        row: { kinesis: expect.objectContaining({ sequenceNumber: '4959000001' }), data: 'oops' },
      },
    ]);
  });
});

describe('the stream function configuration', () => {
  it('fails the cold start naming a missing variable or an unknown source', () => {
    expect(() => readStreamPushConfig({ TABLE_NAME: 'fstore-dev-online' })).toThrow(
      /stream-push configuration: SOURCE_NAME/,
    );
    expect(() =>
      createStreamPushHandler({
        registry,
        client: new DynamoDBClient({ region: 'eu-west-1' }),
        config: readStreamPushConfig({
          TABLE_NAME: 'fstore-dev-online',
          SOURCE_NAME: 'paymnts',
          QUARANTINE_BUCKET: 'b-1',
        }),
        quarantine: memoryQuarantine().sink,
      }),
    ).toThrow(/no source "paymnts"/);
  });
});
