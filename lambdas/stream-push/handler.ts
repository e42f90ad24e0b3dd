import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { QuarantineRun, QuarantineSink } from '../../lib/materialize/quarantine.ts';
import { EmfMetrics, type MetricsSink, MetricUnit } from '../../lib/observability/emf-metrics.ts';
import {
  type InvocationContext,
  observedHandler,
} from '../../lib/observability/observed-handler.ts';
import { type LogSink, StructuredLogger } from '../../lib/observability/structured-logger.ts';
import type { WriteOptions } from '../../lib/online/conditional-puts.ts';
import { pushSource } from '../../lib/push/push-source.ts';
import {
  ingestStreamBatch,
  type KinesisBatchResponse,
  type StreamBatchTarget,
} from '../../lib/push/stream-batch.ts';
import type { KinesisStreamEvent } from '../../lib/push/stream-records.ts';
import type { RuntimeRegistry } from '../../lib/registry/runtime-projection.ts';
import type { StreamPushConfig } from './config.ts';

export interface StreamPushDependencies {
  readonly registry: RuntimeRegistry;
  readonly client: DynamoDBClient;
  readonly config: StreamPushConfig;
  /** A sink for one invocation's quarantined records (s3Quarantine on AWS). */
  readonly quarantine: (run: QuarantineRun) => QuarantineSink;
  readonly metrics?: MetricsSink;
  readonly logger?: LogSink;
  readonly now?: () => number;
  readonly writeOptions?: Omit<WriteOptions, 'concurrency'>;
  /** The offline sink (the push's Firehose streams); without it rows go online only. */
  readonly offline?: StreamBatchTarget['offline'];
}

/**
 * The Kinesis stream function of one source: each record is one JSON row of the source,
 * checked as a push row and written to the source's online views with the push's conditional
 * puts (README.md, "Streams"). Records that can never be written are quarantined with
 * their reason and reported done; a write failure returns the first failed record as the
 * partial batch response, so Lambda resumes the shard there. EMF metrics (service
 * `stream-<source>`): RecordsIn, RecordsRejected, RecordsDuplicate, RecordsSuperseded,
 * RowsWritten, RowsSkippedAsOlder, RecordsRetried.
 */
export function createStreamPushHandler(deps: StreamPushDependencies) {
  const { config } = deps;
  // An unknown source fails the cold start, not every batch.
  pushSource(deps.registry, config.source);
  const serviceName = `stream-${config.source}`;
  const metrics = deps.metrics ?? new EmfMetrics({ namespace: 'fstore', serviceName });
  const logger = deps.logger ?? new StructuredLogger({ serviceName });
  const now = deps.now ?? Date.now;
  return observedHandler(
    { logger, metrics },
    async (
      event: KinesisStreamEvent,
      _context: InvocationContext,
    ): Promise<KinesisBatchResponse> => {
      const runId = new Date(now()).toISOString().slice(0, 10);
      const quarantine = deps.quarantine({ view: config.source, runId });
      const outcome = await ingestStreamBatch(
        {
          registry: deps.registry,
          source: config.source,
          client: deps.client,
          table: config.tableName,
          maxFutureSkewSeconds: config.maxFutureSkewSeconds,
          concurrency: config.writeConcurrency,
          // The AWS offline store numbers ingests by the clock; staged rows are compacted later.
          seqFromClock: true,
          now,
          ...(deps.writeOptions ? { writeOptions: deps.writeOptions } : {}),
          ...(deps.offline ? { offline: deps.offline } : {}),
          onOfflineError: (error, record) =>
            logger.error(
              'stream record not stored offline; the shard resumes from the first such record',
              {
                sequenceNumber: record.kinesis.sequenceNumber,
                error: error as Error,
              },
            ),
          onWriteError: (error, record) =>
            logger.error(
              'stream record not written; the shard resumes from the first such record',
              {
                sequenceNumber: record.kinesis.sequenceNumber,
                error: error as Error,
              },
            ),
          onQuarantineError: (error) =>
            logger.error('quarantine not stored; its records are retried', {
              error: error as Error,
            }),
        },
        event,
        quarantine,
      );
      const count = (name: string, value: number) =>
        metrics.addMetric(name, MetricUnit.Count, value);
      count('RecordsIn', outcome.records);
      count('RecordsRejected', outcome.rejected);
      count('RecordsDuplicate', outcome.duplicates);
      count('RecordsSuperseded', outcome.superseded);
      count('RowsWritten', outcome.written);
      count('RowsSkippedAsOlder', outcome.skippedAsOlder);
      count('RecordsRetried', outcome.retried);
      if (outcome.rejected > 0)
        logger.warn('stream records quarantined', {
          records: outcome.rejected,
          quarantine: quarantine.location,
        });
      return { batchItemFailures: outcome.batchItemFailures };
    },
  );
}
