import { laterIso } from '../epoch-micros.ts';
import { faultPoint, pauseAt } from '../fault-injection.ts';
import type { PlannedView } from '../sql/point-in-time-plan.ts';
import { LeaseLostError, type RunCounts } from './materialization-state.ts';
import { type LatestRowsQuery, type RowSource, resumeKeyOf } from './row-source.ts';
import {
  combineShardProgress,
  runShards,
  type ShardProgress,
  unfinishedShards,
} from './shard-plan.ts';
import type { ShardedCheckpoint, ShardStateStore } from './shard-state.ts';
import { writeInChunks } from './write-in-chunks.ts';

/** What writing one chunk did, as materializeView's writer reports it. */
export interface WrittenChunk {
  readonly written: number;
  readonly skippedAsOlder: number;
  readonly rejected: number;
  readonly deleted: number;
  readonly newestEventTs?: string;
}

export interface ShardedWriteOptions {
  readonly planned: PlannedView;
  readonly checkpoint: ShardedCheckpoint;
  /** The shards' checkpoints so far (a resumed run's, or none). */
  readonly progress: Readonly<Record<number, ShardProgress>>;
  readonly store: ShardStateStore;
  readonly owner: string;
  readonly leaseMs: number;
  readonly chunkRows: number;
  /** The row source of one shard (each streams concurrently with the others). */
  readonly sourceOf: (shard: number) => RowSource;
  readonly write: (rows: Record<string, unknown>[]) => Promise<WrittenChunk>;
  readonly nulls: (
    counts: Readonly<Record<string, number>> | undefined,
    rows: readonly Record<string, unknown>[],
  ) => Record<string, number>;
  readonly signal?: AbortSignal | undefined;
  readonly stopRequested: () => boolean;
  /** Tries per shard before the run fails (default 3). */
  readonly attempts?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** After each shard checkpoint: the run's counts over all shards. */
  readonly onProgress?: (counts: RunCounts) => void;
}

export interface ShardedWriteResult {
  readonly status: 'done' | 'paused' | 'failed';
  readonly progress: Record<number, ShardProgress>;
  /** Shards this invocation wrote (all of them, or a resumed run's unfinished ones). */
  readonly ran: readonly number[];
  /** Shards an earlier invocation of this run had finished. */
  readonly alreadyDone: readonly number[];
  /** The first error of a shard that failed on every attempt. */
  readonly error?: unknown;
}

/**
 * Writes the unfinished shards of a sharded run concurrently, each from its own checkpoint;
 * a failed shard is retried alone. The caller moves the watermark only on `done`.
 */
export async function writeShards(options: ShardedWriteOptions): Promise<ShardedWriteResult> {
  const count = options.checkpoint.shards;
  // Only this run's shard checkpoints count (an earlier run's are removed when a run starts).
  const progress: Record<number, ShardProgress> = Object.fromEntries(
    Object.entries(options.progress).filter(([, p]) => p.runId === options.checkpoint.runId),
  );
  const todo = unfinishedShards(count, progress);
  const alreadyDone = Array.from({ length: count }, (_, s) => s).filter((s) => !todo.includes(s));
  let paused = false;
  const sleep =
    options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const { failed } = await runShards(todo, {
    attempts: options.attempts ?? 3,
    retryable: (error) => !(error instanceof LeaseLostError) && !options.stopRequested(),
    run: async (shard, attempt) => {
      if (attempt > 1) await sleep(500 * (attempt - 1));
      const outcome = await writeShard(shard);
      if (outcome === 'paused') paused = true;
    },
  });

  async function writeShard(shard: number): Promise<'done' | 'paused'> {
    const started = progress[shard];
    const query: LatestRowsQuery = {
      view: options.planned,
      window: options.checkpoint.window,
      shard: { index: shard, count },
      ...(started?.afterKey ? { afterKey: started.afterKey } : {}),
    };
    const record = async (next: ShardProgress) => {
      await options.store.record(options.owner, options.leaseMs, next);
      progress[shard] = next;
      options.onProgress?.(combineShardProgress(Object.values(progress)).counts);
    };
    const outcome = await writeInChunks(options.sourceOf(shard).latestRows(query), {
      chunkRows: options.chunkRows,
      signal: options.signal,
      stopRequested: options.stopRequested,
      write: async (rows) => {
        const result = await options.write(rows);
        const before: Pick<ShardProgress, 'counts' | 'newestEventTs' | 'nullCounts'> = progress[
          shard
        ] ?? { counts: zeroCounts };
        const newest = laterIso(before.newestEventTs, result.newestEventTs);
        const deleted = (before.counts.deleted ?? 0) + result.deleted;
        await record({
          runId: options.checkpoint.runId,
          shard,
          done: false,
          afterKey: resumeKeyOf(options.planned, rows[rows.length - 1] as Record<string, unknown>),
          counts: {
            rowsRead: before.counts.rowsRead + rows.length,
            written: before.counts.written + result.written,
            skippedAsOlder: before.counts.skippedAsOlder + result.skippedAsOlder,
            rejected: before.counts.rejected + result.rejected,
            ...(deleted > 0 ? { deleted } : {}),
          },
          ...(newest ? { newestEventTs: newest } : {}),
          nullCounts: options.nulls(before.nullCounts, rows),
        });
        await pauseAt('materialize:after-checkpoint', options.signal);
      },
    });
    if (outcome === 'paused') return outcome;
    await record({
      ...(progress[shard] ?? { runId: options.checkpoint.runId, shard, counts: zeroCounts }),
      done: true,
    });
    // Crash tests: a kill here leaves this shard done and the others where they are.
    faultPoint('materialize:shard-done');
    return 'done';
  }

  const status = failed.length > 0 ? 'failed' : paused ? 'paused' : 'done';
  return {
    status,
    progress,
    ran: todo,
    alreadyDone,
    ...(failed[0] ? { error: failed[0].error } : {}),
  };
}

const zeroCounts: RunCounts = { rowsRead: 0, written: 0, skippedAsOlder: 0, rejected: 0 };
