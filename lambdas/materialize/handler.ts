import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { AthenaClient } from '@aws-sdk/client-athena';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { S3Client } from '@aws-sdk/client-s3';
import middy from '@middy/core';
import { z } from 'zod';
import { athenaRowSource } from '../../lib/materialize/athena-row-source.ts';
import { athenaTileBaseWriter } from '../../lib/materialize/athena-tile-base-writer.ts';
import { MaterializationBusyError } from '../../lib/materialize/materialization-state.ts';
import {
  type MaterializeViewResult,
  materializeView,
  plannedOnlineView,
} from '../../lib/materialize/materialize-view.ts';
import { s3Quarantine } from '../../lib/materialize/quarantine.ts';
import { s3IngestLog } from '../../lib/materialize/s3-ingest-log.ts';
import { readS3IngestRecords } from '../../lib/materialize/s3-ingest-records.ts';
import {
  athenaTileBaseRangesRelation,
  s3TileBaseRanges,
} from '../../lib/materialize/tile-base-ranges.ts';
import { AthenaQueryRunner } from '../../lib/offline/athena-query-runner.ts';
import type { RuntimeRegistry } from '../../lib/registry/runtime-projection.ts';
import { athenaDialect } from '../../lib/sql/athena-dialect.ts';
import type { Dialect } from '../../lib/sql/dialect.ts';
import type { MaterializeConfig } from './config.ts';

/**
 * What EventBridge Scheduler sends (the schedule's input, `{ view }`), a continuation from this
 * function (`{ view, continuation }`), or an operator's forced full run: `{ view, full: true }`
 * runs that view in full; `{ full: true }` or `{ full: true, views: [...] }` starts one such
 * invocation per online view (or per named view).
 */
export interface MaterializeEvent {
  readonly view?: string;
  readonly views?: readonly string[];
  /** Read every row, whatever the state covers (see MaterializeViewOptions.full). */
  readonly full?: boolean;
  /** How many invocations before this one worked on the same run. */
  readonly continuation?: number;
}

export interface MaterializeDependencies {
  readonly registry: RuntimeRegistry;
  readonly dynamo: DynamoDBClient;
  readonly athena: AthenaClient;
  readonly s3: S3Client;
  readonly lambda: LambdaClient;
  readonly config: MaterializeConfig;
  readonly metrics?: Metrics;
  readonly logger?: Logger;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Test hook: called between a tile base's item writes and its entity's token renewal. */
  readonly tileBaseBeforeToken?: () => void;
  /** The SQL the queries are rendered in: Athena's (default); a test runs DuckDB's on DuckDB. */
  readonly dialect?: Dialect;
  /**
   * The relation a tile base query reads its shipped ranges from (the object at `key`):
   * Athena's `fstore_tile_base_ranges` (default); a test reads the object on DuckDB.
   */
  readonly tileBaseRangesRelation?: (run: string, key: string) => string;
}

export type MaterializeResponse =
  | (Pick<MaterializeViewResult, 'view' | 'runId' | 'status' | 'scope' | 'counts' | 'watermark'> & {
      continuedIn?: number;
    })
  | { view: string; status: 'busy'; message: string }
  | { status: 'started'; full: true; views: string[] };

export class InvalidMaterializeEventError extends Error {}

/** The parts of the Lambda context the materializer reads. */
export interface MaterializeContext {
  readonly functionName: string;
  readonly awsRequestId: string;
  getRemainingTimeInMillis(): number;
}

/**
 * The scheduled materializer: one view per invocation. It stops at a checkpoint when the
 * invocation is close to its timeout and invokes itself asynchronously to continue, so a view
 * larger than one invocation still completes. A run already going for the view (lease held)
 * is not an error: this invocation reports "busy" and ends.
 */
export function createMaterializeHandler(deps: MaterializeDependencies) {
  const metrics = deps.metrics ?? new Metrics({ namespace: 'fstore', serviceName: 'materialize' });
  const logger = deps.logger ?? new Logger({ serviceName: 'materialize' });
  const online = new Set(deps.registry.featureViews.filter((v) => v.online).map((v) => v.name));
  const onlineView = z.string().refine((name) => online.has(name), {
    message: `must be an online feature view of this deployment: ${[...online].join(', ')}`,
  });
  const eventSchema = z
    .strictObject({
      view: onlineView.optional(),
      views: z.array(onlineView).min(1).optional(),
      full: z.boolean().optional(),
      continuation: z.number().int().min(0).optional(),
    })
    .superRefine((event, context) => {
      const refuse = (path: string, message: string) =>
        context.addIssue({ code: 'custom', path: [path], message });
      if (event.view === undefined && event.full !== true)
        refuse('view', 'is required (or full: true, to run every online view in full)');
      if (event.view !== undefined && event.views !== undefined)
        refuse('views', 'cannot come with view: name one view, or several with full: true');
      if (event.views !== undefined && event.full !== true)
        refuse('views', 'is only for a forced full run: add full: true');
      if (event.full === true && event.continuation !== undefined)
        refuse('full', 'cannot come with continuation: a continuation resumes its own run');
    });
  const dialect = deps.dialect ?? athenaDialect(deps.config.database);

  const materialize = async (
    event: MaterializeEvent,
    context: MaterializeContext,
  ): Promise<MaterializeResponse> => {
    const parsed = eventSchema.safeParse(event);
    if (!parsed.success) {
      const issues = parsed.error.issues.map(
        (issue) => `${issue.path.join('.') || 'event'} ${issue.message}`,
      );
      throw new InvalidMaterializeEventError(
        `invalid materialize event ${JSON.stringify(event)}: ${issues.join('; ')}`,
      );
    }
    const { view, views, full, continuation = 0 } = parsed.data;
    if (view === undefined) return startFullRuns(views ?? [...online], context);
    metrics.addDimension('view', view);
    logger.appendKeys({ view, continuation, ...(full ? { full } : {}) });
    const margin = deps.config.safetyMarginMs;
    const runner = new AthenaQueryRunner({
      athena: deps.athena,
      workgroup: deps.config.workgroup,
      database: deps.config.database,
      timeoutMs: Math.max(10_000, context.getRemainingTimeInMillis() - margin),
      ...(deps.sleep ? { sleep: deps.sleep } : {}),
    });
    const now = deps.now ?? Date.now;
    const { view: runtimeView, planned } = plannedOnlineView(deps.registry, view);
    // A view with onlineTiles: its entities' tile bases, from one more query per invocation.
    const tiles = athenaTileBaseWriter({
      registry: deps.registry,
      view: runtimeView,
      planned,
      runner,
      dialect,
      records: async () => {
        const { records, ...read } = await readS3IngestRecords(
          deps.s3,
          deps.config.bucket,
          runtimeView.source,
        );
        // The summary only spares GETs: a failure to read or write it is worth a warning.
        if (read.summary.startsWith('refused') || read.summaryWrite.startsWith('failed'))
          logger.warn('tile base records summary', read);
        else logger.info('tile base records', read);
        return records;
      },
      ranges: s3TileBaseRanges({
        s3: deps.s3,
        bucket: deps.config.bucket,
        relation:
          deps.tileBaseRangesRelation ??
          ((run) => athenaTileBaseRangesRelation(deps.config.database, run)),
      }),
      client: deps.dynamo,
      table: deps.config.tableName,
      now,
      ...(deps.tileBaseBeforeToken ? { beforeToken: deps.tileBaseBeforeToken } : {}),
    });
    let result: MaterializeViewResult;
    try {
      result = await materializeView({
        ...(tiles ? { tiles } : {}),
        registry: deps.registry,
        view,
        ...(full ? { full } : {}),
        client: deps.dynamo,
        table: deps.config.tableName,
        source: athenaRowSource(runner, dialect),
        ingests: s3IngestLog(deps.s3, deps.config.bucket),
        quarantine: (run) =>
          s3Quarantine(deps.s3, deps.config.bucket, deps.config.quarantinePrefix, run),
        allowedLatenessSeconds: deps.config.allowedLatenessSeconds,
        concurrency: deps.config.concurrency,
        chunkRows: deps.config.chunkRows,
        // Lambda runs at most 15 minutes: a lease that long outlives any stalled invocation.
        leaseMs: 15 * 60_000,
        owner: context.awsRequestId,
        shouldPause: () => context.getRemainingTimeInMillis() < margin,
        ...(deps.now ? { now: deps.now } : {}),
        ...(deps.sleep ? { sleep: deps.sleep } : {}),
      });
    } catch (error) {
      if (error instanceof MaterializationBusyError) {
        logger.warn('another run holds the lease', { message: error.message });
        metrics.addMetric('MaterializationBusy', MetricUnit.Count, 1);
        return { view, status: 'busy', message: error.message };
      }
      logger.error('materialization failed', error as Error);
      metrics.addMetric('MaterializationFailures', MetricUnit.Count, 1);
      throw error;
    }
    recordRun(metrics, result);
    logger.info('materialization run', { ...result });
    const response = {
      view,
      runId: result.runId,
      status: result.status,
      ...(result.scope ? { scope: result.scope } : {}),
      counts: result.counts,
      ...(result.watermark ? { watermark: result.watermark } : {}),
    };
    if (result.status !== 'paused') return response;
    if (continuation >= deps.config.maxContinuations)
      throw new Error(
        `materialization of ${view} paused after ${continuation + 1} invocations; raise MAX_CONTINUATIONS or the function timeout`,
      );
    await deps.lambda.send(
      new InvokeCommand({
        FunctionName: context.functionName,
        InvocationType: 'Event',
        Payload: new TextEncoder().encode(JSON.stringify({ view, continuation: continuation + 1 })),
      }),
    );
    return { ...response, continuedIn: continuation + 1 };
  };

  /** One asynchronous invocation per view, each running it in full; the runs go on their own. */
  const startFullRuns = async (
    views: readonly string[],
    context: MaterializeContext,
  ): Promise<MaterializeResponse> => {
    for (const view of views)
      await deps.lambda.send(
        new InvokeCommand({
          FunctionName: context.functionName,
          InvocationType: 'Event',
          Payload: new TextEncoder().encode(JSON.stringify({ view, full: true })),
        }),
      );
    logger.info('started full runs', { views });
    return { status: 'started', full: true, views: [...views] };
  };

  return middy<MaterializeEvent, MaterializeResponse>()
    .use(injectLambdaContext(logger))
    .use(logMetrics(metrics))
    .handler(materialize);
}

function recordRun(metrics: Metrics, result: MaterializeViewResult): void {
  metrics.addMetric('RowsRead', MetricUnit.Count, result.counts.rowsRead);
  metrics.addMetric('RowsWritten', MetricUnit.Count, result.counts.written);
  metrics.addMetric('RowsSkippedAsOlder', MetricUnit.Count, result.counts.skippedAsOlder);
  metrics.addMetric('RowsRejected', MetricUnit.Count, result.counts.rejected);
  metrics.addMetric('ItemsDeleted', MetricUnit.Count, result.counts.deleted ?? 0);
  metrics.addMetric('RunDuration', MetricUnit.Milliseconds, result.durationMs);
  if (result.status === 'succeeded')
    metrics.addMetric('MaterializationSucceeded', MetricUnit.Count, 1);
  if (result.qualityIssues?.length)
    metrics.addMetric('QualityRuleViolations', MetricUnit.Count, result.qualityIssues.length);
  if (result.freshnessLagMs !== undefined)
    metrics.addMetric(
      'FreshnessLag',
      MetricUnit.Seconds,
      Math.max(0, result.freshnessLagMs / 1000),
    );
}
