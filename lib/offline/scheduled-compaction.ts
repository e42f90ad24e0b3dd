import type { S3Client } from '@aws-sdk/client-s3';
import type { Registry } from '../registry/index.ts';
import { PushIngestRun } from './push-ingest-run.ts';
import { type StagedPushSummary, summarizePushStaging } from './push-staging-summary.ts';
import { compactS3Source } from './s3-compact.ts';
import { S3LockHeldError } from './s3-lock.ts';
import { ingestS3PushStagingLocked } from './s3-push-ingest.ts';

export interface ScheduledCompactionOptions {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly region: string;
  readonly registry: Registry;
  readonly targetBytes: number;
  readonly keepReplacedMs: number;
  /** Milliseconds left before the run is cut off (Lambda's `getRemainingTimeInMillis`). */
  readonly remainingMs: () => number;
  /**
   * No new source or batch is started with less than this left; the next run takes over. A
   * merge or ingest still running at half of it is stopped before its commit (its uploads
   * removed), so the run ends on its own rather than being killed.
   */
  readonly reserveMs: number;
  readonly workDir?: string;
  /** Staged objects per push batch (default 1,000, as `fstore compact`). */
  readonly maxObjects?: number;
  /** Staged objects set aside per source per run at most (default `defaultMaxSetAsidePerRun`). */
  readonly maxSetAside?: number;
  readonly leaseMs?: number;
  readonly now?: () => Date;
}

export interface PushedCounts {
  readonly batches: number;
  readonly objects: number;
  readonly rows: number;
  readonly duplicates: number;
  /** Staged objects the ingest refused this run, set aside under `_refused/` with their reason. */
  readonly refused: readonly { readonly key: string; readonly reason: string }[];
  /**
   * The run set aside as many of the source's objects as it may (`maxSetAside`) and took no
   * more of its batches: the rest wait for the next run, or for a person to fix the cause.
   */
  readonly setAsideCapReached?: true;
}

export type SourceRun =
  | {
      readonly source: string;
      /** `done`: nothing left this run saw; `paused`: time ran short, the next run continues. */
      readonly status: 'done' | 'paused';
      readonly pushed: PushedCounts;
      /** Committed objects a merge replaced. */
      readonly merged: number;
    }
  | {
      readonly source: string;
      /** `busy`: another run holds the source's compaction lock; `skipped`: no time left for it. */
      readonly status: 'busy' | 'skipped';
      readonly message: string;
    }
  | {
      readonly source: string;
      readonly status: 'failed';
      readonly pushed: PushedCounts;
      readonly error: Error;
    };

export interface ScheduledCompactionResult {
  readonly sources: readonly SourceRun[];
  /** What is still staged after the run (the next run's work), with the delivery errors. */
  readonly staged: readonly StagedPushSummary[];
  /** Age of the oldest object still staged, against the run's clock; absent when none is. */
  readonly oldestStagedAgeSeconds?: number;
}

/** Why a source's work was stopped by this module (time short), as opposed to a failure. */
class OutOfTime extends Error {
  override name = 'OutOfTime';
}

/**
 * One scheduled run of `fstore compact --env <aws>` over every source: the pushed rows Firehose
 * staged are ingested batch by batch (ingestS3PushStagingLocked), then the source's small
 * objects are merged (compactS3Source), both under the source's compaction lock and the commit
 * rules they already keep when killed. Sources with the oldest staged object go first, so a
 * source that never fits in one run is not starved by the others.
 *
 * Bounded: no new source or batch starts with less than `reserveMs` left (the source is
 * `paused` or `skipped`; the next scheduled run continues), nor a halving of a refused batch,
 * and work still going at half of it is aborted before its commit. At most `maxSetAside`
 * staged objects of a source are set aside per run (`setAsideCapReached`, then its merge). A source whose lock is held is `busy` (another run is on it);
 * one that fails (an ingest refused, S3 denied) is `failed` and the others still run.
 */
export async function runScheduledCompaction(
  options: ScheduledCompactionOptions,
): Promise<ScheduledCompactionResult> {
  const now = options.now ?? (() => new Date());
  const names = options.registry.sources.map((s) => s.name);
  const before = await summarizePushStaging(options.s3, options.bucket, names);
  const runs: SourceRun[] = [];
  for (const source of oldestStagedFirst(before)) {
    if (options.remainingMs() < options.reserveMs) {
      runs.push({
        source,
        status: 'skipped',
        message: `less than ${options.reserveMs} ms left in this run; the next run takes it`,
      });
      continue;
    }
    runs.push(await runSource(options, source));
  }
  const staged = await summarizePushStaging(options.s3, options.bucket, names);
  const oldest = staged.flatMap((s) => (s.oldest ? [s.oldest.getTime()] : []));
  return {
    sources: runs,
    staged,
    ...(oldest.length > 0
      ? { oldestStagedAgeSeconds: Math.max(0, (now().getTime() - Math.min(...oldest)) / 1000) }
      : {}),
  };
}

function oldestStagedFirst(summaries: readonly StagedPushSummary[]): string[] {
  const far = Number.POSITIVE_INFINITY;
  return [...summaries]
    .sort((a, b) => (a.oldest?.getTime() ?? far) - (b.oldest?.getTime() ?? far))
    .map((s) => s.source);
}

async function runSource(options: ScheduledCompactionOptions, source: string): Promise<SourceRun> {
  const prefix = options.registry.sources.find((s) => s.name === source)?.offline.s3Prefix;
  if (!prefix) throw new Error(`internal: source "${source}" is not in the registry`);
  const stop = new AbortController();
  // The hard stop: work still going at half the reserve stops before its commit point.
  const hardStop = setTimeout(
    () => stop.abort(new OutOfTime(`source "${source}" stopped: the run's time was running out`)),
    Math.max(0, options.remainingMs() - options.reserveMs / 2),
  );
  hardStop.unref?.();
  let pushed: PushedCounts = { batches: 0, objects: 0, rows: 0, duplicates: 0, refused: [] };
  try {
    const result = await compactS3Source({
      s3: options.s3,
      bucket: options.bucket,
      region: options.region,
      source,
      prefix,
      targetBytes: options.targetBytes,
      keepReplacedMs: options.keepReplacedMs,
      signal: stop.signal,
      ...(options.workDir ? { workDir: options.workDir } : {}),
      ...(options.leaseMs !== undefined ? { leaseMs: options.leaseMs } : {}),
      ...(options.now ? { now: options.now } : {}),
      beforePlan: async (held) => {
        const maxObjects = options.maxObjects ?? 1_000;
        const timeShort = () => options.remainingMs() < options.reserveMs;
        // Each staged object downloaded once for all the source's batches of this run.
        const pushRun = await PushIngestRun.open({
          ...(options.workDir ? { workDir: options.workDir } : {}),
          ...(options.maxSetAside !== undefined ? { maxSetAside: options.maxSetAside } : {}),
        });
        try {
          for (;;) {
            const batch = await ingestS3PushStagingLocked(
              {
                s3: options.s3,
                bucket: options.bucket,
                registry: options.registry,
                source,
                signal: held.signal,
                maxObjects,
                run: pushRun,
                timeShort,
                ...(options.workDir ? { workDir: options.workDir } : {}),
                ...(options.now ? { now: options.now } : {}),
              },
              held.lock,
            );
            pushed = {
              batches: pushed.batches + (batch.objects > 0 ? 1 : 0),
              objects: pushed.objects + batch.objects,
              rows: pushed.rows + batch.rows,
              duplicates: pushed.duplicates + batch.duplicates,
              refused: batch.refused
                ? [...pushed.refused, { key: batch.refused.key, reason: batch.refused.reason }]
                : pushed.refused,
              ...(batch.stopped === 'set-aside-cap' ? { setAsideCapReached: true as const } : {}),
            };
            if (batch.stopped === 'set-aside-cap') break;
            if (batch.stopped === 'time')
              throw new OutOfTime(
                `source "${source}": time ran short while looking for a refused staged object; the batch stays staged for the next run`,
              );
            // A batch short of the maximum took everything that was waiting when it listed,
            // unless it was cut short to set a refused object aside.
            if (batch.objects < maxObjects && !batch.narrowed) break;
            if (timeShort())
              throw new OutOfTime(
                `source "${source}" has more staged objects than this run had time for`,
              );
          }
        } finally {
          await pushRun.close();
        }
        // No merge started that could not finish in time; the next run merges.
        if (options.remainingMs() < options.reserveMs)
          throw new OutOfTime(`source "${source}": no time left to merge its small objects`);
      },
    });
    const merged = result.merges.reduce((n, m) => n + m.replaced.length, 0);
    return { source, status: 'done', pushed, merged };
  } catch (error) {
    const reason = stop.signal.aborted ? stop.signal.reason : error;
    if (reason instanceof OutOfTime) return { source, status: 'paused', pushed, merged: 0 };
    if (error instanceof S3LockHeldError) return { source, status: 'busy', message: error.message };
    return {
      source,
      status: 'failed',
      pushed,
      error: error instanceof Error ? error : new Error(String(error)),
    };
  } finally {
    clearTimeout(hardStop);
  }
}
