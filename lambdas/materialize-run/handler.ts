import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import {
  type AthenaClient,
  GetQueryExecutionCommand,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import middy from '@middy/core';
import { z } from 'zod';
import { plannedOnlineView } from '../../lib/materialize/materialize-view.ts';
import { refreshIngestRecordsSummary } from '../../lib/materialize/refresh-ingest-records-summary.ts';
import { s3IngestLog } from '../../lib/materialize/s3-ingest-log.ts';
import { readIngestRecordsSummary } from '../../lib/materialize/s3-ingest-records.ts';
import {
  failShardedRun,
  finishShardedRun,
  recordShardedUnload,
  renewShardedRun,
  type ShardedRunDependencies,
  startShardedRun,
} from '../../lib/materialize/sharded-run.ts';
import { viewTileSpec } from '../../lib/online/aggregation-tiles/view-tile-spec.ts';
import type { RuntimeRegistry } from '../../lib/registry/runtime-projection.ts';
import { athenaDialect } from '../../lib/sql/athena-dialect.ts';
import type { Dialect } from '../../lib/sql/dialect.ts';
import type { RunControllerConfig } from './config.ts';

export interface RunControllerDependencies {
  readonly registry: RuntimeRegistry;
  readonly dynamo: DynamoDBClient;
  readonly athena: AthenaClient;
  readonly s3: S3Client;
  readonly config: RunControllerConfig;
  readonly logger?: Logger;
  /** Service `materialize`, as the single materializer's: the view alarms read both alike. */
  readonly metrics?: Metrics;
  readonly now?: () => number;
  /** The SQL the UNLOAD is rendered in: Athena's (default); a test runs DuckDB's on DuckDB. */
  readonly dialect?: Dialect;
}

export interface RunControllerContext {
  getRemainingTimeInMillis(): number;
}

/** A state machine step that is not one of the run controller's; Step Functions does not retry it. */
export class InvalidRunStepError extends Error {
  override name = 'InvalidRunStepError';
}

/**
 * The steps of the sharded-materialization state machine around its Distributed Map (one
 * function, the step named by `action`): `start` takes the lease for the execution and plans
 * the run, starting its UNLOAD when it is sharded; `poll` extends the run's lease and reads the UNLOAD's
 * state (the state machine waits between polls, no function does), recording what it wrote
 * once it succeeded; `records` (a tile-fed view, before the start and again before the map)
 * brings the source's commit records summary up to date, a page at a time, so neither the
 * start step's ingest coverage nor the shards need read every record;
 * `finish` moves the watermark once every
 * shard is done; `fail` gives the lease back keeping the checkpoints.
 */
export function createRunControllerHandler(deps: RunControllerDependencies) {
  const logger = deps.logger ?? new Logger({ serviceName: 'materialize-run' });
  const metrics = deps.metrics ?? new Metrics({ namespace: 'fstore', serviceName: 'materialize' });
  const now = deps.now ?? Date.now;
  const online = new Set(deps.registry.featureViews.filter((v) => v.online).map((v) => v.name));
  const view = z.string().refine((name) => online.has(name), {
    message: `must be an online feature view of this deployment: ${[...online].join(', ')}`,
  });
  const runId = z.string().regex(/^[A-Za-z0-9-]{1,64}$/);
  const owner = z.string().regex(/^sfn:[A-Za-z0-9_-]{1,80}$/);
  const stepSchema = z.discriminatedUnion('action', [
    z.strictObject({
      action: z.literal('start'),
      view,
      execution: z.string().min(1).max(80),
      full: z.boolean().optional(),
    }),
    z.strictObject({
      action: z.literal('poll'),
      queryExecutionId: z.string().min(1).max(128),
      view,
      runId,
      owner,
    }),
    // Without a run: the state machine's step before `start` (no lease to renew).
    z.strictObject({
      action: z.literal('records'),
      view,
      runId: runId.optional(),
      owner: owner.optional(),
    }),
    z.strictObject({ action: z.literal('finish'), view, runId, owner }),
    z.strictObject({
      action: z.literal('fail'),
      view,
      runId,
      owner,
      error: z.string().max(100_000).default('the state machine failed'),
    }),
  ]);
  // The sources whose records summary this function keeps (the records step): the start
  // step's ingest coverage reads it too, so a first run does not GET every record again.
  const tileFedSources = new Set(
    deps.registry.featureViews
      .filter((v) => v.online && viewTileSpec(deps.registry, v))
      .map((v) => v.source),
  );
  const summaryOfTileFedSource = async (source: string) => {
    if (!tileFedSources.has(source)) return undefined;
    const read = await readIngestRecordsSummary(deps.s3, deps.config.bucket, source);
    if (read.state !== 'used')
      logger.warn('ingest coverage: no records summary to use, the records are read', {
        source,
        summary: read.state,
      });
    return read.entries;
  };
  const runs: ShardedRunDependencies = {
    registry: deps.registry,
    dynamo: deps.dynamo,
    table: deps.config.tableName,
    s3: deps.s3,
    bucket: deps.config.bucket,
    dialect: deps.dialect ?? athenaDialect(deps.config.database),
    ingests: s3IngestLog(deps.s3, deps.config.bucket, { summary: summaryOfTileFedSource }),
    allowedLatenessSeconds: deps.config.allowedLatenessSeconds,
    leaseMs: deps.config.leaseMs,
    ...(deps.now ? { now: deps.now } : {}),
  };

  const step = async (event: unknown, context: RunControllerContext) => {
    const parsed = stepSchema.safeParse(event);
    if (!parsed.success) {
      const issues = parsed.error.issues.map(
        (issue) => `${issue.path.join('.') || 'event'} ${issue.message}`,
      );
      throw new InvalidRunStepError(
        `invalid materialize-run step ${JSON.stringify(event)}: ${issues.join('; ')}`,
      );
    }
    const input = parsed.data;
    switch (input.action) {
      case 'start': {
        const started = await startShardedRun(runs, {
          view: input.view,
          execution: input.execution,
          ...(input.full ? { full: true } : {}),
          shards: deps.config.shards,
          minRows: deps.config.minRows,
        });
        logger.info('run started', { ...started, items: undefined });
        if (started.mode === 'single' || !started.unloadSql)
          return { ...started, unload: false as const };
        const { QueryExecutionId } = await deps.athena.send(
          new StartQueryExecutionCommand({
            QueryString: started.unloadSql,
            WorkGroup: deps.config.workgroup,
            QueryExecutionContext: { Database: deps.config.database },
            // A retried start step of the same execution starts no second UNLOAD.
            ClientRequestToken: `${started.runId}-${input.execution}`.slice(0, 128).padEnd(32, '0'),
          }),
        );
        const { unloadSql: _sql, ...rest } = started;
        return { ...rest, unload: true as const, queryExecutionId: QueryExecutionId };
      }
      case 'poll': {
        await renewShardedRun(runs, input);
        const { QueryExecution } = await deps.athena.send(
          new GetQueryExecutionCommand({ QueryExecutionId: input.queryExecutionId }),
        );
        const state = QueryExecution?.Status?.State ?? 'UNKNOWN';
        // Before any writer runs: what the UNLOAD wrote, which writers and resumes check.
        const unloaded = state === 'SUCCEEDED' ? await recordShardedUnload(runs, input) : undefined;
        if (unloaded) logger.info('unload recorded', { ...unloaded });
        return {
          queryExecutionId: input.queryExecutionId,
          state,
          ...(unloaded
            ? {
                objects: Object.values(unloaded.shards).reduce((n, s) => n + s.objects, 0),
                bytes: Object.values(unloaded.shards).reduce((n, s) => n + s.bytes, 0),
              }
            : {}),
          ...(state === 'FAILED' || state === 'CANCELLED'
            ? { reason: QueryExecution?.Status?.StateChangeReason ?? state }
            : {}),
          dataScannedBytes: QueryExecution?.Statistics?.DataScannedInBytes ?? 0,
        };
      }
      case 'records': {
        const { view: planned } = plannedOnlineView(deps.registry, input.view);
        const { runId: id, owner: holder } = input;
        if ((id === undefined) !== (holder === undefined))
          throw new InvalidRunStepError(
            `invalid materialize-run step ${JSON.stringify(event)}: a records step names both the run and its owner, or neither (the step before the start)`,
          );
        const tileFed = viewTileSpec(deps.registry, planned) !== undefined;
        // Before the start the view's kind is not the state machine's to know: nothing to do.
        if (!tileFed && id === undefined)
          return { source: planned.source, done: true, skipped: 'not tile-fed' };
        if (!tileFed)
          throw new InvalidRunStepError(
            `invalid materialize-run step: ${input.view} is not tile-fed, so its shards read no commit records and it has no records step`,
          );
        if (id !== undefined && holder !== undefined)
          await renewShardedRun(runs, { view: input.view, runId: id, owner: holder });
        const refreshed = await refreshIngestRecordsSummary(
          deps.s3,
          deps.config.bucket,
          planned.source,
          {
            pageRecords: deps.config.summaryPageRecords,
            shouldStop: () => context.getRemainingTimeInMillis() < deps.config.safetyMarginMs,
          },
        );
        const summary = { source: planned.source, ...refreshed };
        if (refreshed.summaryWrite === 'written' || refreshed.summaryWrite === 'unchanged')
          logger.info('tile base records summary brought up to date', summary);
        else
          logger.warn(
            'tile base records summary not written: the shards read the records',
            summary,
          );
        return summary;
      }
      case 'finish': {
        const run = await finishShardedRun(runs, input);
        logger.info('run finished', { ...run });
        // The metrics the single materializer sends for a run (the view's alarms read them).
        metrics.addDimension('view', input.view);
        metrics.addMetric('MaterializationSucceeded', MetricUnit.Count, 1);
        metrics.addMetric('RowsRead', MetricUnit.Count, run.counts.rowsRead);
        metrics.addMetric('RowsWritten', MetricUnit.Count, run.counts.written);
        metrics.addMetric('RowsSkippedAsOlder', MetricUnit.Count, run.counts.skippedAsOlder);
        metrics.addMetric('RowsRejected', MetricUnit.Count, run.counts.rejected);
        metrics.addMetric('RunDuration', MetricUnit.Milliseconds, run.durationMs);
        if (run.qualityIssues?.length)
          metrics.addMetric('QualityRuleViolations', MetricUnit.Count, run.qualityIssues.length);
        if (run.newestEventTs)
          metrics.addMetric(
            'FreshnessLag',
            MetricUnit.Seconds,
            Math.max(0, (now() - Date.parse(run.newestEventTs)) / 1000),
          );
        return run;
      }
      case 'fail': {
        const run = await failShardedRun(runs, input);
        logger.warn('run failed', { ...run });
        metrics.addDimension('view', input.view);
        metrics.addMetric('MaterializationFailures', MetricUnit.Count, 1);
        return run;
      }
    }
  };

  return middy<unknown, unknown>()
    .use(injectLambdaContext(logger))
    .use(logMetrics(metrics))
    .handler(step);
}
