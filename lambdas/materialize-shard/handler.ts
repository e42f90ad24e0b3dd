import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { AthenaClient } from '@aws-sdk/client-athena';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import middy from '@middy/core';
import { z } from 'zod';
import { plannedOnlineView } from '../../lib/materialize/materialize-view.ts';
import { s3Quarantine } from '../../lib/materialize/quarantine.ts';
import { readS3IngestRecords } from '../../lib/materialize/s3-ingest-records.ts';
import { maxShards } from '../../lib/materialize/shard-plan.ts';
import {
  athenaTileBaseRangesRelation,
  s3TileBaseRanges,
} from '../../lib/materialize/tile-base-ranges.ts';
import {
  type WriteUnloadedShardResult,
  writeUnloadedShard,
} from '../../lib/materialize/write-unloaded-shard.ts';
import { AthenaQueryRunner } from '../../lib/offline/athena-query-runner.ts';
import type { RuntimeRegistry } from '../../lib/registry/runtime-projection.ts';
import { athenaDialect } from '../../lib/sql/athena-dialect.ts';
import type { Dialect } from '../../lib/sql/dialect.ts';
import type { ShardWriterConfig } from './config.ts';

/** One Distributed Map item: a shard of a run the run's start step planned and unloaded. */
export interface ShardWriterEvent {
  readonly view: string;
  readonly runId: string;
  /** The run's lease holder (the state machine execution). */
  readonly owner: string;
  readonly shard: number;
  /** The run's UNLOAD folder (ends with `/`); the shard's objects are under `fstore_shard=<i>/`. */
  readonly unloadPrefix: string;
}

export type ShardWriterResponse = Pick<
  WriteUnloadedShardResult,
  'status' | 'alreadyDone' | 'counts'
> &
  Pick<ShardWriterEvent, 'view' | 'runId' | 'shard'>;

export interface ShardWriterDependencies {
  readonly registry: RuntimeRegistry;
  readonly dynamo: DynamoDBClient;
  readonly s3: S3Client;
  /** Reads a tile-fed view's tile base rows (with `config.athena`). */
  readonly athena?: AthenaClient;
  readonly config: ShardWriterConfig;
  /** The SQL the base query is rendered in: Athena's (default); a test runs DuckDB's on DuckDB. */
  readonly dialect?: Dialect;
  /** Test hook: called between a tile base's item writes and its entity's token renewal. */
  readonly tileBaseBeforeToken?: () => void;
  /** As the single materializer's (lambdas/materialize/handler.ts). */
  readonly tileBaseRangesRelation?: (run: string, key: string) => string;
  readonly metrics?: Metrics;
  readonly logger?: Logger;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** A map item that is not a shard of this deployment's runs; Step Functions does not retry it. */
export class InvalidShardEventError extends Error {
  override name = 'InvalidShardEventError';
}

export interface ShardWriterContext {
  getRemainingTimeInMillis(): number;
}

/**
 * The shard writer of a sharded materialization run (one Distributed Map iteration): writes one
 * shard's UNLOAD output into the online table with its own checkpoint (then, for a tile-fed
 * view, its entities' tile bases from one Athena query per invocation), pausing near the
 * timeout (`status: paused`; the state machine invokes it again), idempotent on a retry.
 */
export function createShardWriterHandler(deps: ShardWriterDependencies) {
  const metrics =
    deps.metrics ?? new Metrics({ namespace: 'fstore', serviceName: 'materialize-shard' });
  const logger = deps.logger ?? new Logger({ serviceName: 'materialize-shard' });
  const online = new Set(deps.registry.featureViews.filter((v) => v.online).map((v) => v.name));
  const eventSchema = z.strictObject({
    view: z.string().refine((name) => online.has(name), {
      message: `must be an online feature view of this deployment: ${[...online].join(', ')}`,
    }),
    runId: z.string().regex(/^[A-Za-z0-9-]{1,64}$/),
    owner: z.string().min(1).max(200),
    shard: z
      .number()
      .int()
      .min(0)
      .max(maxShards - 1),
    // A run's folder under materialize-unload/ only (its role reads nothing else either).
    unloadPrefix: z
      .string()
      .regex(/^materialize-unload\/[a-z][a-z0-9_]*\/[A-Za-z0-9-]+\/[A-Za-z0-9_-]+\/$/),
  });

  const write = async (
    event: ShardWriterEvent,
    context: ShardWriterContext,
  ): Promise<ShardWriterResponse> => {
    const parsed = eventSchema.safeParse(event);
    if (!parsed.success) {
      const issues = parsed.error.issues.map(
        (issue) => `${issue.path.join('.') || 'event'} ${issue.message}`,
      );
      throw new InvalidShardEventError(
        `invalid shard event ${JSON.stringify(event)}: ${issues.join('; ')}`,
      );
    }
    const { view, runId, owner, shard, unloadPrefix } = parsed.data;
    metrics.addDimension('view', view);
    logger.appendKeys({ view, runId, shard });
    const athena = deps.config.athena;
    const tiles =
      athena && deps.athena
        ? {
            runner: new AthenaQueryRunner({
              athena: deps.athena,
              workgroup: athena.workgroup,
              database: athena.database,
              timeoutMs: Math.max(
                10_000,
                context.getRemainingTimeInMillis() - deps.config.safetyMarginMs,
              ),
              ...(deps.sleep ? { sleep: deps.sleep } : {}),
            }),
            dialect: deps.dialect ?? athenaDialect(athena.database),
            // Through the source's records summary, which the run's records step brought up to
            // date before the map: the records committed since are read, the summary not written.
            records: async () => {
              const source = plannedOnlineView(deps.registry, view).view.source;
              const { records, ...read } = await readS3IngestRecords(
                deps.s3,
                deps.config.bucket,
                source,
                { writeSummary: false },
              );
              // Absent or refused: the records step did not write it, so this shard read them all.
              if (read.summary !== 'used') logger.warn('tile base records summary', read);
              else logger.info('tile base records', read);
              return records;
            },
            ranges: s3TileBaseRanges({
              s3: deps.s3,
              bucket: deps.config.bucket,
              relation:
                deps.tileBaseRangesRelation ??
                ((run) => athenaTileBaseRangesRelation(athena.database, run)),
            }),
            ...(deps.tileBaseBeforeToken ? { beforeToken: deps.tileBaseBeforeToken } : {}),
          }
        : undefined;
    const result = await writeUnloadedShard({
      ...(tiles ? { tiles } : {}),
      registry: deps.registry,
      view,
      runId,
      owner,
      shard,
      dynamo: deps.dynamo,
      table: deps.config.tableName,
      s3: deps.s3,
      bucket: deps.config.bucket,
      unloadPrefix,
      quarantine: (run) =>
        s3Quarantine(deps.s3, deps.config.bucket, deps.config.quarantinePrefix, run),
      leaseMs: deps.config.leaseMs,
      concurrency: deps.config.concurrency,
      chunkRows: deps.config.chunkRows,
      shouldPause: () => context.getRemainingTimeInMillis() < deps.config.safetyMarginMs,
      ...(deps.now ? { now: deps.now } : {}),
      ...(deps.sleep ? { sleep: deps.sleep } : {}),
    });
    // The counts are the shard's whole (every invocation of it): sent once, when it is done.
    if (result.status === 'done' && !result.alreadyDone) {
      metrics.addMetric('ShardRowsRead', MetricUnit.Count, result.counts.rowsRead);
      metrics.addMetric('ShardRowsWritten', MetricUnit.Count, result.counts.written);
      if (result.tiles)
        metrics.addMetric('ShardTileItemsWritten', MetricUnit.Count, result.tiles.itemsWritten);
    }
    logger.info('shard written', { ...result });
    return { view, runId, shard, ...result };
  };

  return middy<ShardWriterEvent, ShardWriterResponse>()
    .use(injectLambdaContext(logger))
    .use(logMetrics(metrics))
    .handler(write);
}
