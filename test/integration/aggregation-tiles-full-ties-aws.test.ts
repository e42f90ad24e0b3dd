import { Metrics } from '@aws-lambda-powertools/metrics';
import { FirehoseClient, PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DuckDBConnection } from '@duckdb/node-api';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readMaterializeConfig } from '../../lambdas/materialize/config.ts';
import { createMaterializeHandler } from '../../lambdas/materialize/handler.ts';
import { formatMicros } from '../../lib/epoch-micros.ts';
import { type LocalDynamo, startDynalite } from '../../lib/local/dynalite-server.ts';
import { type DuckdbSession, openDuckdb } from '../../lib/offline/duckdb-session.ts';
import { ingestFile } from '../../lib/offline/ingest.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { S3IngestTarget } from '../../lib/offline/s3-ingest-target.ts';
import { ingestS3PushStaging } from '../../lib/offline/s3-push-ingest.ts';
import { executePush } from '../../lib/push/execute-push.ts';
import { firehoseOfflineSink } from '../../lib/push/firehose-offline-sink.ts';
import { pushStreamName } from '../../lib/push/firehose-staging.ts';
import { defaultPushLimits } from '../../lib/push/push-limits.ts';
import { ingestStreamBatch } from '../../lib/push/stream-batch.ts';
import {
  materializerRegistryProjection,
  pushRegistryProjection,
} from '../../lib/registry/runtime-projection.ts';
import { duckdbDialect } from '../../lib/sql/duckdb-dialect.ts';
import { athenaOnDuckdbSql } from '../helpers/athena-on-duckdb-sql.ts';
import { copyBucketStoreToLocal } from '../helpers/local-store-on-bucket.ts';
import { paymentRow } from '../helpers/push-registry.ts';
import { makeTempDir } from '../helpers/run-fstore.ts';
import {
  type MemoryBucket,
  memoryBucketClient,
  startMemoryBucket,
} from '../helpers/s3-memory-bucket.ts';
import { stageFirehoseRecords } from '../helpers/staged-push-objects.ts';
import { tileEnvironment } from '../helpers/tile-materialization-environment.ts';
import { minute, second, t0 } from '../helpers/tile-payment-rows.ts';

const hour = 60n * minute;
const day = 24n * hour;
const firehose = mockClient(FirehoseClient);
/** Each Firehose record the push Lambda's offline hook sent, in order. */
const sent: string[] = [];

let dynamo: LocalDynamo;
let bucket: MemoryBucket;
let s3: S3Client;
let duckdb: DuckdbSession;
let scratch: string;
const athena = athenaOnDuckdbSql({ connection: () => duckdb.connection as DuckDBConnection });
beforeAll(async () => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  dynamo = await startDynalite();
  bucket = await startMemoryBucket('fstore-offline');
  s3 = memoryBucketClient(bucket);
  duckdb = await openDuckdb();
  scratch = await makeTempDir('tiles-full-ties-aws');
});
afterAll(async () => {
  athena.restore();
  duckdb.close();
  await bucket.close();
  await dynamo.close();
  firehose.restore();
});
beforeEach(() => {
  athena.install();
  bucket.objects.clear();
  sent.length = 0;
  firehose.reset();
  firehose.on(PutRecordBatchCommand).callsFake((input: { Records?: { Data?: Uint8Array }[] }) => {
    const records = (input.Records ?? []).map((r) => Buffer.from(r.Data ?? []).toString('utf8'));
    sent.push(...records);
    return { FailedPutCount: 0, RequestResponses: records.map(() => ({ RecordId: 'r' })) };
  });
});

/** A row of `customer` at `event` (and created time `created`, null for none) worth `amount`. */
function tied(customer: string, event: bigint, created: bigint | null, amount: number) {
  return paymentRow(formatMicros(event), {
    customer_id: customer,
    amount,
    status: `s${amount}`,
    created_ts: created === null ? null : formatMicros(created),
  });
}

/**
 * The tile environment on AWS: pushes go through the push Lambda's store (online items ranked
 * by the push time's clock sequence, the offline half sent to Firehose), their records are
 * staged as Firehose objects in the loopback bucket when the test says they arrive, and
 * `fstore compact --env`'s staged-push ingest commits them there. The training set reads the
 * rows the bucket's commit records hold, with their `fstore_seq`.
 */
async function awsTieEnvironment() {
  const env = await tileEnvironment(dynamo);
  const registry = env.fixture.registry;
  const source = registry.sources.find((s) => s.name === 'payments');
  if (!source) throw new Error('no payments source');
  /** Pushes `rows` at `at`; returns the Firehose records it sent, to stage later. */
  const push = async (at: bigint, rows: Record<string, unknown>[]) => {
    const from = sent.length;
    await executePush(
      {
        registry,
        online: { client: env.client, table: env.table, seqFromClock: true },
        offline: firehoseOfflineSink({
          client: new FirehoseClient({ region: 'eu-west-1' }),
          streamName: (name) => pushStreamName('dev', name),
        }),
        now: () => Number(at / 1000n),
      },
      defaultPushLimits,
      'payments',
      { rows, to: 'online_and_offline' },
    );
    return sent.slice(from);
  };
  let sequence = 4_959_000_000;
  /** Sends `rows` as one Kinesis batch to the stream function's core at `at`; returns its Firehose records. */
  const stream = async (at: bigint, rows: Record<string, unknown>[]) => {
    const from = sent.length;
    const outcome = await ingestStreamBatch(
      {
        registry: pushRegistryProjection(registry),
        source: 'payments',
        client: env.client,
        table: env.table,
        maxFutureSkewSeconds: 300,
        now: () => Number(at / 1000n),
        seqFromClock: true,
        offline: firehoseOfflineSink({
          client: new FirehoseClient({ region: 'eu-west-1' }),
          streamName: (name) => pushStreamName('dev', name),
        }),
      },
      {
        Records: rows.map((row) => {
          const sequenceNumber = String(sequence++);
          return {
            eventID: `shardId-000000000000:${sequenceNumber}`,
            kinesis: {
              data: Buffer.from(JSON.stringify(row)).toString('base64'),
              sequenceNumber,
              partitionKey: String(row.customer_id),
            },
          };
        }),
      } as never,
      { location: 'none', add: () => {}, flush: async () => {} },
    );
    expect(outcome.batchItemFailures).toEqual([]);
    return sent.slice(from);
  };
  const arrive = (arrivedSecond: number, records: readonly string[]) =>
    stageFirehoseRecords({ bucket, duckdb: duckdb.connection, scratch }, source, arrivedSecond, [
      ...records,
    ]);
  /** A batch ingest of `rows` into the bucket, committed at `at` on the S3 store's clock. */
  const ingest = async (at: bigint, rows: Record<string, unknown>[]) =>
    ingestFile({
      registry,
      dataDir: await makeTempDir('tiles-full-ties-aws-ingest'),
      env: 'aws',
      source: 'payments',
      file: await env.fixture.writeJsonl(rows),
      target: new S3IngestTarget(s3, bucket.name, () => Number(at / 1000n)),
    });
  /** The AWS materializer Lambda's run of `spend` at `at` (its Athena queries run on DuckDB). */
  const materialize = async (at: bigint) => {
    await copyBucketStoreToLocal(bucket.objects, env.fixture.dataDir);
    const handler = createMaterializeHandler({
      registry: materializerRegistryProjection(registry),
      dynamo: env.client,
      athena: athena.client(),
      s3,
      lambda: new LambdaClient({ region: 'eu-west-1' }),
      config: readMaterializeConfig({
        TABLE_NAME: env.table,
        ATHENA_WORKGROUP: 'fstore-dev',
        ATHENA_DATABASE: 'fstore_dev',
        OFFLINE_BUCKET: bucket.name,
      }),
      dialect: duckdbDialect(offlineRoot(env.fixture.dataDir, 'local')),
      metrics: new Metrics({ namespace: 'fstore-test', serviceName: 'materialize' }),
      now: () => Number(at / 1000n),
      sleep: async () => {},
    });
    return handler({ view: 'spend' }, {
      functionName: 'fstore-dev-materialize',
      awsRequestId: `req-${at}`,
      getRemainingTimeInMillis: () => 600_000,
    } as never);
  };
  const compact = (at: bigint) =>
    ingestS3PushStaging({
      s3,
      bucket: bucket.name,
      registry,
      source: 'payments',
      workDir: scratch,
      now: () => new Date(Number(at / 1000n)),
    });
  /**
   * Lookups at instants after `event` (the raw edge minute, whole minutes, hours and days),
   * uncached and through one cache, against the training set over the bucket's committed rows;
   * `winners` name the amount `last` serves per customer.
   */
  const checkpoint = async (event: bigint, winners: Record<string, number>) => {
    await copyBucketStoreToLocal(bucket.objects, env.fixture.dataDir);
    const lookups: { at: bigint; customer: string; values: Record<string, unknown> }[] = [];
    const firstInstant = event - (event % 1000n) + 1000n;
    for (const after of [0n, 40n * second, 6n * minute, 3n * hour, 2n * day])
      for (const cached of [false, true]) {
        const at = firstInstant + after;
        lookups.push(...env.lookupRecords(at, await env.lookupAt(at, cached)));
      }
    const first = lookups.filter((o) => o.at === firstInstant);
    const served = Object.fromEntries(
      Object.keys(winners).map((c) => [
        c,
        first.find((o) => o.customer === c)?.values.amount_last_10m,
      ]),
    );
    return { served, mismatches: (await env.mismatches(lookups)).slice(0, 10) };
  };
  return { env, push, stream, arrive, ingest, materialize, compact, checkpoint };
}

describe('`last` on a full tie between pushed rows on AWS, online as offline (issue 20)', () => {
  it('serves the later push when compaction commits two tied pushes in one batch whose Firehose objects arrived in the other order', async () => {
    const aws = await awsTieEnvironment();
    const e = t0 - 20n * day + hour + 123_457n;
    // K1: push A, then push B a minute later, tied (same event and created time). A's records
    // reach the staging prefix after B's (a resend after a throttled call, or a Firehose buffer
    // flushed between the two): one compaction takes both objects, B's first.
    const a = await aws.push(e + minute, [tied('K1', e, e + 3n, 1.5), tied('K2', e, null, 3.5)]);
    const b = await aws.push(e + 2n * minute, [
      tied('K1', e, e + 3n, 2.5),
      tied('K2', e, null, 4.5),
    ]);
    await aws.arrive(10, b);
    await aws.arrive(20, a);
    expect(await aws.compact(e + 5n * minute)).toMatchObject({ objects: 2, rows: 4 });
    // K3: two tied pushes whose objects arrive in push order (unchanged by the rule).
    const c = await aws.push(e + 6n * minute, [tied('K3', e, e + 1n, 5.5)]);
    const d = await aws.push(e + 7n * minute, [tied('K3', e, e + 1n, 6.5)]);
    await aws.arrive(30, c);
    await aws.arrive(40, d);
    expect(await aws.compact(e + 9n * minute)).toMatchObject({ objects: 2, rows: 2 });
    expect(await aws.checkpoint(e, { K1: 2.5, K2: 4.5, K3: 6.5 })).toEqual({
      served: { K1: 2.5, K2: 4.5, K3: 6.5 },
      mismatches: [],
    });
  }, 300_000);

  it('serves a push against a tied batch row committed between the push and the compaction that commits it (the push wins), and against one committed after (the batch row wins)', async () => {
    const aws = await awsTieEnvironment();
    const e = t0 - 15n * day + 2n * hour + 7n * minute + 999_999n;
    // K1: push at +1 min, a tied batch row committed at +2 min, the push committed at +3 min:
    // offline the push is ingested last. K2: the same push, a tied batch row committed at +4
    // min, after the push's compaction: the batch row is ingested last.
    const pushed = await aws.push(e + minute, [tied('K1', e, e, 1.5), tied('K2', e, e + 2n, 3.5)]);
    await aws.ingest(e + 2n * minute, [tied('K1', e, e, 2.5)]);
    await aws.arrive(10, pushed);
    expect(await aws.compact(e + 3n * minute)).toMatchObject({ objects: 1, rows: 2 });
    await aws.ingest(e + 4n * minute, [tied('K2', e, e + 2n, 4.5)]);
    const run = await aws.materialize(e + 5n * minute);
    expect(run).toMatchObject({ status: 'succeeded' });
    expect(await aws.checkpoint(e, { K1: 1.5, K2: 4.5 })).toEqual({
      served: { K1: 1.5, K2: 4.5 },
      mismatches: [],
    });
  }, 300_000);

  it('serves a stream record against a tied batch row committed between the record and the compaction that commits it, as a push', async () => {
    const aws = await awsTieEnvironment();
    const e = t0 - 10n * day + 30n * second;
    // K3: a stream record at +1 min, a tied batch row committed at +2 min, the record committed
    // at +3 min: offline the record is ingested last. K1: a tied batch row committed after.
    const records = await aws.stream(e + minute, [tied('K3', e, e, 5.5), tied('K1', e, null, 7.5)]);
    await aws.ingest(e + 2n * minute, [tied('K3', e, e, 6.5)]);
    await aws.arrive(10, records);
    expect(await aws.compact(e + 3n * minute)).toMatchObject({ objects: 1, rows: 2 });
    await aws.ingest(e + 4n * minute, [tied('K1', e, null, 8.5)]);
    expect(await aws.materialize(e + 5n * minute)).toMatchObject({ status: 'succeeded' });
    expect(await aws.checkpoint(e, { K3: 5.5, K1: 8.5 })).toEqual({
      served: { K3: 5.5, K1: 8.5 },
      mismatches: [],
    });
  }, 300_000);
});
