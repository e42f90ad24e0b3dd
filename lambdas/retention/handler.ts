import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { S3Client } from '@aws-sdk/client-s3';
import middy from '@middy/core';
import { z } from 'zod';
import { microsOfMillis } from '../../lib/epoch-micros.ts';
import { S3LockHeldError } from '../../lib/offline/s3-lock.ts';
import { applyS3Retention, type S3SourceRetention } from '../../lib/offline/s3-retention.ts';
import type { rewriteS3Objects } from '../../lib/offline/s3-rewrite-objects.ts';
import { s3SnapshotPins } from '../../lib/offline/s3-snapshots.ts';
import type { RetentionConfig } from './config.ts';

export interface RetentionDependencies {
  readonly s3: S3Client;
  readonly config: RetentionConfig;
  readonly metrics?: Metrics;
  readonly logger?: Logger;
  readonly now?: () => Date;
  /** How long each source waits for its lock held by another run (default 60 s). */
  readonly lockWaitMs?: number;
  /**
   * Writes the boundary day's objects again without the older rows (lib/offline/s3-rewrite-objects,
   * DuckDB: index.ts passes it in the function's image). Absent, or without the config's
   * event-time columns, the boundary day is kept whole.
   */
  readonly rewrite?: typeof rewriteS3Objects;
}

/** A source another run held (`busy`) or that failed, with why. */
export interface SourceNotRun {
  readonly source: string;
  readonly status: 'busy' | 'failed';
  readonly message: string;
}

export type RetentionRun = ({ readonly status: 'done' } & S3SourceRetention) | SourceNotRun;

/** Some source failed; the others ran. Thrown so the invocation counts as failed (alarm). */
export class RetentionFailedError extends Error {
  override name = 'RetentionFailedError';
}

/** The schedule's input is `{}`; anything else is refused before any work. */
const eventSchema = z.strictObject({});

/**
 * The scheduled retention (README "Retention"): every source with a retention gets
 * applyS3Retention (whole `dt` partitions before the boundary's day deleted, the boundary day
 * rewritten without its older rows when `rewrite` is given; rows snapshots pin kept). A source whose
 * lock another run holds (a compaction) is counted `SourcesBusy` and left for the next run. A
 * source that fails is logged and counted (`RetentionFailures`); once every other source has
 * run, the invocation fails, so the Errors alarm sees it. `RetentionObjectsDeleted` and
 * `RetentionBytesFreed` say what each run freed; `SourcesRetained` (sources done) feeds the
 * alarm on days without a run. Each source is listed under its registry prefix (config).
 */
export function createRetentionHandler(deps: RetentionDependencies) {
  const metrics = deps.metrics ?? new Metrics({ namespace: 'fstore', serviceName: 'retention' });
  const logger = deps.logger ?? new Logger({ serviceName: 'retention' });
  const now = deps.now ?? (() => new Date());

  const run = async (event: unknown): Promise<readonly RetentionRun[]> => {
    if (!eventSchema.safeParse(event).success)
      throw new Error(
        `invalid retention event ${JSON.stringify(event)}: the schedule sends {} (every source with a retention)`,
      );
    const runs: RetentionRun[] = [];
    for (const [source, retentionSeconds] of Object.entries(deps.config.retentions)) {
      const timestampField = deps.config.timestampFields?.[source];
      try {
        const done = await applyS3Retention({
          s3: deps.s3,
          bucket: deps.config.bucket,
          source,
          prefix: deps.config.prefixes[source] as string,
          retentionSeconds,
          nowMicros: microsOfMillis(now().getTime()),
          // Read under the source's lock: a snapshot made before it is held is honoured.
          pins: () => s3SnapshotPins({ s3: deps.s3, bucket: deps.config.bucket, env: 'this' }),
          now,
          // An ingest's commit or a snapshot create holds the lock briefly: wait rather than
          // skip the source for the day; a compaction or delete still running makes it busy.
          lockWaitMs: deps.lockWaitMs ?? 60_000,
          onLockWait: (message) => logger.info('waiting for the source lock', { source, message }),
          ...(deps.rewrite && timestampField && deps.config.region
            ? {
                boundaryRewrite: {
                  rewrite: deps.rewrite,
                  region: deps.config.region,
                  timestampField,
                },
              }
            : {}),
        });
        runs.push({ status: 'done', ...done });
        logger.info('retention applied', { ...done });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (error instanceof S3LockHeldError) {
          runs.push({ source, status: 'busy', message });
          logger.warn('source busy; the next run takes it', { source, message });
        } else {
          runs.push({ source, status: 'failed', message });
          logger.error('retention failed', { source, error: error as Error });
        }
      }
    }
    const done = runs.filter((r) => r.status === 'done');
    metrics.addMetric(
      'RetentionObjectsDeleted',
      MetricUnit.Count,
      done.reduce((n, r) => n + r.objectsDeleted, 0),
    );
    metrics.addMetric(
      'RetentionBytesFreed',
      MetricUnit.Bytes,
      done.reduce((n, r) => n + r.bytesFreed, 0),
    );
    // Objects past the retention kept because a snapshot pins their rows (the run still succeeds).
    metrics.addMetric(
      'RetentionObjectsKeptForSnapshots',
      MetricUnit.Count,
      done.reduce((n, r) => n + r.objectsKept, 0),
    );
    metrics.addMetric(
      'RetentionBoundaryRowsDeleted',
      MetricUnit.Count,
      done.reduce((n, r) => n + (r.boundaryRowsDeleted ?? 0), 0),
    );
    // The not-run alarm: a day without a retained source (no run, or all busy) breaches.
    metrics.addMetric('SourcesRetained', MetricUnit.Count, done.length);
    metrics.addMetric(
      'SourcesBusy',
      MetricUnit.Count,
      runs.filter((r) => r.status === 'busy').length,
    );
    const failed = runs.filter((r): r is SourceNotRun => r.status === 'failed');
    metrics.addMetric('RetentionFailures', MetricUnit.Count, failed.length);
    if (failed.length > 0)
      throw new RetentionFailedError(
        `retention failed for ${failed.map((f) => `"${f.source}" (${f.message})`).join(', ')}`,
      );
    return runs;
  };

  return middy(run)
    .use(injectLambdaContext(logger))
    .use(logMetrics(metrics, { captureColdStartMetric: true }));
}
