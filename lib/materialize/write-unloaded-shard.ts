import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { epochMicrosOf, laterIso, millisOfMicros } from '../epoch-micros.ts';
import { HintedError } from '../hinted-error.ts';
import { viewTileSpec } from '../online/aggregation-tiles/view-tile-spec.ts';
import type { RuntimeRegistry } from '../registry/runtime-projection.ts';
import { definitionFingerprint } from './definition-fingerprint.ts';
import {
  type Checkpoint,
  MaterializationStateStore,
  type RunCounts,
} from './materialization-state.ts';
import { addNulls, plannedOnlineView, writeRows } from './materialize-view.ts';
import type { QuarantineRun, QuarantineSink } from './quarantine.ts';
import type { ShardProgress, ShardTileProgress } from './shard-plan.ts';
import { type ShardedCheckpoint, ShardStateStore, shardsOf } from './shard-state.ts';
import { type ShardTileBasesOptions, writeShardTileBases } from './shard-tile-bases.ts';
import { shardFolder, UnloadedShardError } from './unload-manifest.ts';
import { unloadedShardRows } from './unloaded-shard-rows.ts';

/** A shard write asked of a run that is not the view's current one, or not this shard's. */
export class StaleShardError extends HintedError {
  override name = 'StaleShardError';
}

export interface WriteUnloadedShardOptions {
  readonly registry: RuntimeRegistry;
  readonly view: string;
  readonly runId: string;
  /** The lease holder of the run (the state machine execution that started it). */
  readonly owner: string;
  readonly shard: number;
  readonly dynamo: DynamoDBClient;
  readonly table: string;
  readonly s3: S3Client;
  readonly bucket: string;
  /** The run's UNLOAD folder; the shard reads `<prefix>fstore_shard=<shard>/`. */
  readonly unloadPrefix: string;
  readonly quarantine: (run: QuarantineRun) => QuarantineSink;
  readonly leaseMs: number;
  readonly concurrency?: number;
  readonly chunkRows?: number;
  /** Asked after each checkpoint: true stops there, to go on in the next invocation. */
  readonly shouldPause?: () => boolean;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /**
   * How a run planned with tile bases (a tile-fed view) reads its shard's base rows: Athena,
   * the SQL dialect and the source's commit records (shard-tile-bases.ts).
   */
  readonly tiles?: Pick<
    ShardTileBasesOptions,
    'runner' | 'dialect' | 'records' | 'ranges' | 'beforeToken'
  >;
}

export interface WriteUnloadedShardResult {
  /** `done` also when an earlier attempt had finished the shard (nothing written now). */
  readonly status: 'done' | 'paused';
  readonly alreadyDone: boolean;
  readonly counts: RunCounts;
  /** The tile base phase of a tile-fed view's run. */
  readonly tiles?: ShardTileProgress;
}

/** A shard of a run with tile bases, asked of a writer that cannot read them. */
export class ShardTileBasesError extends HintedError {
  override name = 'ShardTileBasesError';
}

const zero: RunCounts = { rowsRead: 0, written: 0, skippedAsOlder: 0, rejected: 0 };

/**
 * One shard of a sharded run on AWS (a Distributed Map iteration): reads the shard's UNLOAD
 * output from where its checkpoint stands, writes its rows with the conditional rules of every
 * run (materialize-view.ts writeRows), and records its checkpoint, under the run's lease, after
 * every chunk. Then, in a tile-fed view's run, writes the tile bases of the shard's entities
 * (shard-tile-bases.ts), checkpointed by entity key in the same shard checkpoint. A retry of a
 * failed attempt resumes at that checkpoint; a shard already done writes nothing. The
 * watermark is not this function's: the run's last step moves it once every shard is done.
 */
export async function writeUnloadedShard(
  options: WriteUnloadedShardOptions,
): Promise<WriteUnloadedShardResult> {
  const now = options.now ?? Date.now;
  const { view, planned } = plannedOnlineView(options.registry, options.view);
  const keyPrefix = view.onlineStore.keyPrefix;
  const state = await new MaterializationStateStore(
    options.dynamo,
    options.table,
    keyPrefix,
    now,
  ).read();
  const checkpoint = state.checkpoint;
  if (checkpoint?.runId !== options.runId || state.lease?.owner !== options.owner)
    throw new StaleShardError(
      `shard ${options.shard} of ${view.name} belongs to run ${options.runId} of ${options.owner}, but the view's current run is ${checkpoint?.runId ?? 'none'} of ${state.lease?.owner ?? 'nobody'}; nothing was written`,
      'a later run took over (or this run finished): start a new execution instead of retrying this one',
    );
  const shards = shardsOf(checkpoint);
  if (!Number.isSafeInteger(options.shard) || options.shard < 0 || options.shard >= shards)
    throw new StaleShardError(
      `run ${options.runId} of ${view.name} has ${shards} shards; there is no shard ${options.shard}`,
      'the map reads its shard list from the run start: do not edit it',
    );
  const recordedPrefix = (checkpoint as Partial<ShardedCheckpoint>).unloadPrefix;
  if (recordedPrefix !== undefined && options.unloadPrefix !== recordedPrefix)
    throw new StaleShardError(
      `shard ${options.shard} of run ${options.runId} of ${view.name} was asked to read ${options.unloadPrefix}, but the run unloaded to ${recordedPrefix}; nothing was written`,
      'the map reads its shard list from the run start: do not edit it',
    );
  const shardStore = new ShardStateStore(options.dynamo, options.table, keyPrefix, now);
  const stored = (await shardStore.read())[options.shard];
  let progress: ShardProgress =
    stored?.runId === options.runId
      ? stored
      : { runId: options.runId, shard: options.shard, done: false, counts: zero };
  // A tile-fed view's run (planned with tiles) writes each shard's bases after its rows; a
  // view that lost its tiles since (a deploy during the run) writes none, as a single run.
  const tileFed = checkpoint.tiles === true && viewTileSpec(options.registry, view) !== undefined;
  if (progress.done && (!tileFed || progress.tiles?.done))
    return { status: 'done', alreadyDone: true, counts: progress.counts, ...tilesOf(progress) };
  if (tileFed && !options.tiles)
    throw new ShardTileBasesError(
      `run ${options.runId} of ${view.name} writes tile bases, but shard ${options.shard}'s writer has no Athena workgroup to read them with; nothing was written`,
      'deploy the stack again: the shard writer of a stage with a sharded tile-fed view gets ATHENA_WORKGROUP and ATHENA_DATABASE',
    );
  if (!progress.done) {
    const rowsOutcome = await writeRowsOfShard(checkpoint);
    if (rowsOutcome === 'paused')
      return { status: 'paused', alreadyDone: false, counts: progress.counts };
    if (tileFed && options.shouldPause?.())
      return {
        status: 'paused',
        alreadyDone: false,
        counts: progress.counts,
        ...tilesOf(progress),
      };
  }
  if (tileFed && options.tiles) {
    const bases = await writeShardTileBases({
      ...options.tiles,
      registry: options.registry,
      view,
      planned,
      window: checkpoint.window,
      shard: { index: options.shard, count: shards },
      client: options.dynamo,
      table: options.table,
      now,
      progress: progress.tiles,
      chunkEntities: options.chunkRows ?? 2000,
      checkpoint: async (tiles) => {
        progress = { ...progress, tiles };
        await shardStore.record(options.owner, options.leaseMs, progress);
      },
      ...(options.shouldPause ? { shouldPause: options.shouldPause } : {}),
    });
    if (bases.status === 'paused')
      return {
        status: 'paused',
        alreadyDone: false,
        counts: progress.counts,
        tiles: bases.progress,
      };
  }
  return { status: 'done', alreadyDone: false, counts: progress.counts, ...tilesOf(progress) };

  /** The shard's UNLOAD rows from its checkpoint on; done is recorded when all are written. */
  async function writeRowsOfShard(checkpoint: Checkpoint): Promise<'done' | 'paused'> {
    const unloaded = (checkpoint as Partial<ShardedCheckpoint>).unloaded;
    if (unloaded?.prefix !== options.unloadPrefix)
      throw new UnloadedShardError(
        `run ${options.runId} of ${view.name} has no record of what its UNLOAD wrote under s3://${options.bucket}/${options.unloadPrefix} (the controller records it when the query succeeds); nothing was written`,
        'start the state machine again: a new execution unloads the run again when its output is not recorded or not complete',
      );

    const definition = definitionFingerprint(view, planned);
    const fullRun = checkpoint.scope?.kind === 'full';
    const untilMs = millisOfMicros(epochMicrosOf(checkpoint.window.until));
    const sink = options.quarantine({ view: view.name, runId: options.runId });
    const rows = unloadedShardRows(options.s3, {
      bucket: options.bucket,
      prefix: shardFolder(options.unloadPrefix, options.shard),
      view: planned,
      expected: unloaded.shards[options.shard],
      manifest: unloaded,
      ...(progress.afterObject ? { after: progress.afterObject } : {}),
      batchRows: options.chunkRows ?? 2000,
    });
    for await (const batch of rows) {
      const written = await writeRows(
        view,
        batch.rows,
        {
          client: options.dynamo,
          table: options.table,
          concurrency: options.concurrency ?? 32,
          ...(options.sleep ? { sleep: options.sleep } : {}),
        },
        untilMs,
        { definition, fullRun },
      );
      sink.add(written.rejected);
      await sink.flush();
      const before = progress.counts;
      const deleted = (before.deleted ?? 0) + written.deleted;
      const newest = laterIso(progress.newestEventTs, written.newestEventTs);
      progress = {
        runId: options.runId,
        shard: options.shard,
        done: false,
        afterObject: batch.position,
        counts: {
          rowsRead: before.rowsRead + batch.rows.length,
          written: before.written + written.written,
          skippedAsOlder: before.skippedAsOlder + written.skippedAsOlder,
          rejected: before.rejected + written.rejected.length,
          ...(deleted > 0 ? { deleted } : {}),
        },
        ...(newest ? { newestEventTs: newest } : {}),
        nullCounts: addNulls(progress.nullCounts, view, batch.rows),
      };
      await shardStore.record(options.owner, options.leaseMs, progress);
      if (options.shouldPause?.()) return 'paused';
    }
    progress = { ...progress, done: true };
    await shardStore.record(options.owner, options.leaseMs, progress);
    return 'done';
  }
}

const tilesOf = (progress: ShardProgress) => (progress.tiles ? { tiles: progress.tiles } : {});
