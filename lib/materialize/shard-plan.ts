import { createHash } from 'node:crypto';
import { laterIso } from '../epoch-micros.ts';
import { HintedError } from '../hinted-error.ts';
import type { RunCounts } from './materialization-state.ts';

/**
 * Sharded materialization (issue 21): a run's window split by a hash of the entity key into
 * shards written concurrently, each with its own checkpoint. The hash is the first 32 bits of
 * the MD5 of the key's text (join-key values as decimal or string text, joined by U+001F), so
 * DuckDB and Athena compute the same shard (lib/sql/render-shard.ts) and so does this file.
 */

/** More shards than this would crowd the state item (one checkpoint per shard) for no gain. */
export const maxShards = 64;

export class ShardCountError extends HintedError {}

/** The text a key's shard is hashed from; NULL (no value) reads as the empty text. */
export function shardKeyText(values: readonly unknown[]): string {
  return values
    .map((value) => (value === null || value === undefined ? '' : String(value)))
    .join('\u001f');
}

/** The shard (0 .. shards-1) of an entity with these join-key values. */
export function shardOfKey(values: readonly unknown[], shards: number): number {
  const hex = createHash('md5').update(shardKeyText(values), 'utf8').digest('hex');
  return Number.parseInt(hex.slice(0, 8), 16) % shards;
}

/** A shard count typed by a person (`--shards`), or a clear refusal naming `where`. */
export function parseShardCount(text: string, where: string): number {
  if (!/^-?\d+$/.test(text.trim()))
    throw new ShardCountError(
      `${where} must be a whole number of shards, got "${text}"`,
      `give 1 (one writer, the default) to ${maxShards}`,
    );
  const value = Number(text);
  if (value < 1)
    throw new ShardCountError(
      `${where} must be at least 1, got ${text}`,
      '1 is one writer (the default); more split the entities among concurrent writers',
    );
  if (value > maxShards)
    throw new ShardCountError(
      `${where} must be at most ${maxShards}, got ${text}`,
      `each shard keeps a checkpoint in the view's state item; past ${maxShards} the online store, not the writers, sets the pace`,
    );
  return value;
}

/** Where one shard of a run stands: its last key written, its counts, whether it is done. */
export interface ShardProgress {
  /** The run this shard belongs to (a rerun resumes only its own run's shards). */
  readonly runId: string;
  readonly shard: number;
  readonly done: boolean;
  readonly afterKey?: readonly (string | number)[];
  /**
   * On AWS, where a shard reads its run's UNLOAD output (rows in no key order), the object and
   * line written up to, instead of a key (unloaded-shard-rows.ts).
   */
  readonly afterObject?: {
    readonly object: string;
    readonly line: number;
    readonly finished?: boolean;
  };
  readonly counts: RunCounts;
  readonly newestEventTs?: string;
  readonly nullCounts?: Readonly<Record<string, number>>;
  /**
   * On AWS, a tile-fed view's base phase, after the shard's rows (`done`): the entities whose
   * tile bases are written, by key (shard-tile-bases.ts).
   */
  readonly tiles?: ShardTileProgress;
}

/** Where a shard's tile base phase stands: the last entity written, and its counts. */
export interface ShardTileProgress {
  readonly done: boolean;
  readonly afterKey?: readonly (string | number)[];
  readonly entities: number;
  readonly itemsWritten: number;
  readonly itemsAlreadyNewer: number;
}

/** The shards of a run of `shards` shards that still have rows to write, in order. */
export function unfinishedShards(
  shards: number,
  progress: Readonly<Record<number, ShardProgress>>,
): number[] {
  return Array.from({ length: shards }, (_, shard) => shard).filter(
    (shard) => progress[shard]?.done !== true,
  );
}

/** A run's counts, newest event time and NULL counts: the sum (or newest) over its shards. */
export function combineShardProgress(progress: readonly ShardProgress[]): {
  counts: RunCounts;
  newestEventTs?: string;
  nullCounts: Record<string, number>;
} {
  let rowsRead = 0;
  let written = 0;
  let skippedAsOlder = 0;
  let rejected = 0;
  let deleted = 0;
  let newestEventTs: string | undefined;
  const nullCounts: Record<string, number> = {};
  for (const p of progress) {
    rowsRead += p.counts.rowsRead;
    written += p.counts.written;
    skippedAsOlder += p.counts.skippedAsOlder;
    rejected += p.counts.rejected;
    deleted += p.counts.deleted ?? 0;
    newestEventTs = laterIso(newestEventTs, p.newestEventTs);
    for (const [feature, n] of Object.entries(p.nullCounts ?? {}))
      nullCounts[feature] = (nullCounts[feature] ?? 0) + n;
  }
  return {
    counts: { rowsRead, written, skippedAsOlder, rejected, ...(deleted > 0 ? { deleted } : {}) },
    ...(newestEventTs ? { newestEventTs } : {}),
    nullCounts,
  };
}

export interface ShardRunOptions<T> {
  /** Tries per shard, the first included. */
  readonly attempts: number;
  /** Whether a failure is worth another try of that shard (not a lost lease or a stop). */
  readonly retryable: (error: unknown) => boolean;
  /** Runs one shard from its own checkpoint; `attempt` counts from 1. */
  readonly run: (shard: number, attempt: number) => Promise<T>;
}

/**
 * Runs the shards concurrently; a shard that fails is retried alone (from its own checkpoint)
 * while the others go on. Every shard is waited for, so no write of the run lands after this
 * returns; the caller moves the watermark only when `failed` is empty.
 */
export async function runShards<T>(
  shards: readonly number[],
  options: ShardRunOptions<T>,
): Promise<{ outcomes: Record<number, T>; failed: { shard: number; error: unknown }[] }> {
  const outcomes: Record<number, T> = {};
  const failed: { shard: number; error: unknown }[] = [];
  await Promise.all(
    shards.map(async (shard) => {
      for (let attempt = 1; ; attempt++) {
        try {
          outcomes[shard] = await options.run(shard, attempt);
          return;
        } catch (error) {
          if (attempt >= options.attempts || !options.retryable(error)) {
            failed.push({ shard, error });
            return;
          }
        }
      }
    }),
  );
  failed.sort((a, b) => a.shard - b.shard);
  return { outcomes, failed };
}
