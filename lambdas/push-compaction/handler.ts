import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { S3Client } from '@aws-sdk/client-s3';
import middy from '@middy/core';
import { z } from 'zod';
import {
  runScheduledCompaction,
  type ScheduledCompactionResult,
} from '../../lib/offline/scheduled-compaction.ts';
import type { Registry } from '../../lib/registry/index.ts';
import type { RuntimeRegistry } from '../../lib/registry/runtime-projection.ts';
import type { PushCompactionConfig } from './config.ts';

export interface PushCompactionDependencies {
  readonly registry: RuntimeRegistry;
  readonly s3: S3Client;
  readonly config: PushCompactionConfig;
  readonly metrics?: Metrics;
  readonly logger?: Logger;
  readonly now?: () => Date;
}

/** The parts of the Lambda context the function reads. */
export interface PushCompactionContext {
  readonly awsRequestId: string;
  getRemainingTimeInMillis(): number;
}

export interface PushCompactionSummary {
  readonly sources: readonly { readonly source: string; readonly status: string }[];
  readonly stagedObjectsLeft: number;
  readonly oldestStagedAgeSeconds: number;
  readonly pushErrorObjects: number;
  /** Sources that set aside as many staged objects as a run may, then stopped (MAX_SET_ASIDE). */
  readonly setAsideCapReached: readonly string[];
}

export class InvalidPushCompactionEventError extends Error {
  override name = 'InvalidPushCompactionEventError';
}

/** Some source failed; the others ran. Thrown so the invocation counts as failed (alarm, DLQ). */
export class PushCompactionFailedError extends Error {
  override name = 'PushCompactionFailedError';
}

/** The schedule's input is `{}`; anything else is refused before any work. */
const eventSchema = z.strictObject({});

/**
 * The scheduled compaction (ADR 0016): one `runScheduledCompaction` over every source per
 * invocation, bounded by the time Lambda gives it; what it leaves the next scheduled run takes.
 * A source another run holds is logged and counted (`SourcesBusy`), not an error. A source that
 * fails is logged with its error, counted (`CompactionFailures`), and once every other source has
 * run the invocation fails, so Lambda's Errors alarm and the on-failure queue see it.
 */
export function createPushCompactionHandler(deps: PushCompactionDependencies) {
  const metrics =
    deps.metrics ?? new Metrics({ namespace: 'fstore', serviceName: 'push-compaction' });
  const logger = deps.logger ?? new Logger({ serviceName: 'push-compaction' });
  // The push projection carries every source and the constraints of every view reading it,
  // which is all ingest reads (no description, owner or schedule).
  const registry = deps.registry as unknown as Registry;

  const compact = async (
    event: unknown,
    context: PushCompactionContext,
  ): Promise<PushCompactionSummary> => {
    const parsed = eventSchema.safeParse(event);
    if (!parsed.success)
      throw new InvalidPushCompactionEventError(
        `invalid push-compaction event ${JSON.stringify(event)}: the schedule sends {} (every source, as fstore compact --env); ${parsed.error.issues.map((i) => `${i.path.join('.') || 'event'}: ${i.message}`).join('; ')}`,
      );
    const result = await runScheduledCompaction({
      s3: deps.s3,
      bucket: deps.config.bucket,
      region: deps.config.region,
      registry,
      targetBytes: deps.config.targetBytes,
      keepReplacedMs: deps.config.keepReplacedMs,
      remainingMs: () => context.getRemainingTimeInMillis(),
      reserveMs: deps.config.reserveMs,
      workDir: deps.config.workDir,
      maxObjects: deps.config.maxObjects,
      maxSetAside: deps.config.maxSetAside,
      ...(deps.now ? { now: deps.now } : {}),
    });
    const summary = record(result);
    const failed = result.sources.flatMap((s) => (s.status === 'failed' ? [s] : []));
    if (failed.length > 0)
      throw new PushCompactionFailedError(
        `the compaction of ${failed.map((s) => `"${s.source}" failed: ${s.error.message}`).join('; ')}; every other source ran, and the failed sources' staged objects wait for the next run`,
      );
    return summary;
  };

  /** Logs each source and adds the run's metrics (flushed by logMetrics, also on an error). */
  const record = (result: ScheduledCompactionResult): PushCompactionSummary => {
    let busy = 0;
    let left = 0;
    let failures = 0;
    let rows = 0;
    let objects = 0;
    for (const s of result.sources) {
      if (s.status === 'busy') {
        busy++;
        logger.info('source busy: another run holds its compaction lock', {
          source: s.source,
          reason: s.message,
        });
      } else if (s.status === 'skipped' || s.status === 'paused') {
        left++;
        logger.info('source left for the next run: time ran short', {
          source: s.source,
          status: s.status,
          ...('message' in s ? { reason: s.message } : { pushed: s.pushed }),
        });
      } else if (s.status === 'failed') {
        failures++;
        logger.error('source compaction failed', {
          source: s.source,
          pushed: s.pushed,
          error: s.error,
        });
      } else logger.info('source compacted', { ...s });
      if (s.status === 'done' || s.status === 'paused' || s.status === 'failed') {
        rows += s.pushed.rows;
        objects += s.pushed.objects;
      }
    }
    const stagedLeft = result.staged.reduce((n, s) => n + s.objects, 0);
    // Objects that never reach the offline store without a person: Firehose's and the ingest's.
    const errors = result.staged.reduce((n, s) => n + s.errorObjects + s.refusedObjects, 0);
    const age = result.oldestStagedAgeSeconds ?? 0;
    metrics.addMetric('PushRowsCompacted', MetricUnit.Count, rows);
    metrics.addMetric('StagedObjectsCompacted', MetricUnit.Count, objects);
    metrics.addMetric('SourcesBusy', MetricUnit.Count, busy);
    metrics.addMetric('SourcesLeftForNextRun', MetricUnit.Count, left);
    metrics.addMetric('CompactionFailures', MetricUnit.Count, failures);
    metrics.addMetric('StagedPushObjects', MetricUnit.Count, stagedLeft);
    // 0 when nothing waits, so the age alarm sees every run and silence means no run.
    metrics.addMetric('OldestStagedPushAge', MetricUnit.Seconds, age);
    metrics.addMetric('PushErrorObjects', MetricUnit.Count, errors);
    for (const s of result.staged)
      if (s.errorObjects > 0)
        logger.warn('objects Firehose could not deliver wait under offline/_push-errors/', {
          source: s.source,
          objects: s.errorObjects,
        });
    const capped = result.sources.flatMap((s) =>
      'pushed' in s && s.pushed.setAsideCapReached ? [s] : [],
    );
    for (const s of capped)
      logger.warn(
        'source stopped: it set aside as many staged objects as a run may; the rest wait (a definition refusing every row? read a .reason.json under offline/_push/<source>/_refused/)',
        {
          source: s.source,
          setAside: s.pushed.refused.length,
          maxSetAside: deps.config.maxSetAside,
        },
      );
    for (const s of result.staged)
      if (s.refusedObjects > 0)
        logger.warn(
          'staged objects the ingest refused wait under offline/_push/<source>/_refused/',
          {
            source: s.source,
            objects: s.refusedObjects,
          },
        );
    return {
      sources: result.sources.map((s) => ({ source: s.source, status: s.status })),
      stagedObjectsLeft: stagedLeft,
      oldestStagedAgeSeconds: age,
      pushErrorObjects: errors,
      setAsideCapReached: capped.map((s) => s.source),
    };
  };

  return middy<unknown, PushCompactionSummary>()
    .use(injectLambdaContext(logger))
    .use(logMetrics(metrics))
    .handler(compact);
}
