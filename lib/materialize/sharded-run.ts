import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { laterIso } from '../epoch-micros.ts';
import { HintedError } from '../hinted-error.ts';
import { viewTileSpec } from '../online/aggregation-tiles/view-tile-spec.ts';
import type { RuntimeRegistry } from '../registry/runtime-projection.ts';
import type { Dialect } from '../sql/dialect.ts';
import { definitionFingerprint } from './definition-fingerprint.ts';
import type { IngestLog } from './ingest-coverage.ts';
import {
  type Checkpoint,
  type LastRun,
  type MaterializationState,
  MaterializationStateStore,
} from './materialization-state.ts';
import { plannedOnlineView, planRun, tileBaseMark, viewQualityIssues } from './materialize-view.ts';
import { combineShardProgress, maxShards, unfinishedShards } from './shard-plan.ts';
import { type ShardedCheckpoint, ShardStateStore, shardsOf } from './shard-state.ts';
import { renderShardUnload } from './shard-unload.ts';
import { unloadFolder } from './unload-folder.ts';
import { recordUnload, type UnloadManifest, unloadIntact } from './unload-manifest.ts';

/**
 * The run controller of sharded materialization on AWS (issue 21), the steps of the state
 * machine around its Distributed Map: `startShardedRun` takes the view's lease for the
 * execution, plans the run as every run is planned (materialize-view.ts planRun) and says
 * whether it is small enough for the single materializer Lambda or which shards to map over
 * after one UNLOAD; `finishShardedRun` moves the watermark only when every shard is done;
 * `failShardedRun` gives the lease back and keeps every checkpoint, so the next execution
 * resumes only the unfinished shards.
 */

export { unloadFolder };

export class ShardedRunError extends HintedError {
  override name = 'ShardedRunError';
}

export interface ShardedRunDependencies {
  readonly registry: RuntimeRegistry;
  readonly dynamo: DynamoDBClient;
  readonly table: string;
  /** Lists the runs' UNLOAD folders in `bucket`, the offline bucket. */
  readonly s3: S3Client;
  readonly bucket: string;
  readonly dialect: Dialect;
  readonly ingests?: IngestLog;
  readonly allowedLatenessSeconds?: number;
  readonly leaseMs: number;
  readonly now?: () => number;
}

export interface ShardedRunStart {
  readonly view: string;
  /** The state machine execution's name: the lease holder and the UNLOAD folder's last part. */
  readonly execution: string;
  readonly full?: boolean;
  /** Shards of a new sharded run (a resumed run keeps its own). */
  readonly shards: number;
  /** Runs expected to read fewer rows than this go to the single materializer Lambda. */
  readonly minRows: number;
}

/** One Distributed Map item: what the shard writer Lambda takes. */
export interface ShardItem {
  readonly view: string;
  readonly runId: string;
  readonly owner: string;
  readonly shard: number;
  readonly unloadPrefix: string;
}

export type StartedRun =
  | {
      readonly mode: 'single';
      readonly view: string;
      readonly full: boolean;
      readonly estimatedRows?: number;
    }
  | {
      readonly mode: 'sharded';
      readonly view: string;
      readonly runId: string;
      readonly owner: string;
      readonly resumed: boolean;
      /**
       * The run writes tile bases: the state machine brings the source's records summary up to
       * date (the controller's `records` step) before its shards fan out, each reading it.
       */
      readonly tiles: boolean;
      readonly estimatedRows?: number;
      /** The UNLOAD to run before the map, or none when an earlier execution's output stands. */
      readonly unloadSql?: string;
      readonly items: readonly ShardItem[];
    };

export const ownerOf = (execution: string) => `sfn:${execution}`;

export async function startShardedRun(
  deps: ShardedRunDependencies,
  start: ShardedRunStart,
): Promise<StartedRun> {
  const now = deps.now ?? Date.now;
  if (!Number.isSafeInteger(start.shards) || start.shards < 2 || start.shards > maxShards)
    throw new ShardedRunError(
      `a sharded run of ${start.view} needs 2 to ${maxShards} shards, got ${start.shards}`,
      'set materialization.sharding.shards in the stage config',
    );
  if (!/^[A-Za-z0-9_-]{1,80}$/.test(start.execution))
    throw new ShardedRunError(
      `execution name ${JSON.stringify(start.execution)} is not a Step Functions execution name`,
      'start the state machine without naming the execution, or with letters, digits, - and _',
    );
  const { view, planned, store, shardStore } = parts(deps, start.view, now);
  const owner = ownerOf(start.execution);
  const state = await store.acquire(owner, deps.leaseMs);
  try {
    const definition = definitionFingerprint(view, planned);
    const resuming = state.checkpoint && !state.checkpoint.backfill && !start.full;
    const snapshot =
      deps.ingests && !resuming
        ? await deps.ingests.committedIngests(
            view.source,
            state.definition === definition ? state.ingests : undefined,
          )
        : undefined;
    let checkpoint = planRun(
      state,
      undefined,
      {
        // A tile-fed view's run writes bases (each shard after its rows), and is full while
        // the view's tiles have no base yet (ADR 0020, "Backfill").
        ...(viewTileSpec(deps.registry, view) ? { tiles: true } : {}),
        ...(start.full ? { full: true } : {}),
        ...(deps.ingests ? { ingests: deps.ingests } : {}),
        ...(deps.allowedLatenessSeconds !== undefined
          ? { allowedLatenessSeconds: deps.allowedLatenessSeconds }
          : {}),
      },
      now,
      { snapshot, definition },
    );
    const resumed = checkpoint === state.checkpoint;
    const estimatedRows = resumed ? undefined : estimateRows(checkpoint, state, snapshot);
    const single = resumed
      ? shardsOf(checkpoint) === 1
      : estimatedRows !== undefined && estimatedRows < start.minRows;
    if (single) {
      // The single materializer plans (or resumes) the run itself, under its own lease.
      await store.releaseLease(owner);
      return {
        mode: 'single',
        view: view.name,
        full: start.full === true,
        ...(estimatedRows !== undefined ? { estimatedRows } : {}),
      };
    }
    const stored = await shardStore.read();
    let sharded = checkpoint as ShardedCheckpoint;
    const own = Object.fromEntries(
      Object.entries(stored).filter(([, p]) => p.runId === checkpoint.runId),
    );
    const unfinished = unfinishedShards(shardsOf(sharded), own);
    // An earlier execution's UNLOAD is reused only while its folder holds what was recorded
    // when it succeeded, for every shard still to write: objects expire (or are deleted), and
    // an emptied folder must unload again, never read as shards of no rows.
    const unloaded =
      resumed &&
      sharded.unloaded !== undefined &&
      sharded.unloaded.prefix === sharded.unloadPrefix &&
      (await unloadIntact(deps.s3, deps.bucket, sharded.unloaded, unfinished));
    const unloadPrefix = unloaded
      ? (sharded.unloadPrefix as string)
      : `${unloadFolder}${view.name}/${checkpoint.runId}/${start.execution}/`;
    if (resumed && unloaded) {
      await store.checkpoint(owner, deps.leaseMs, sharded);
    } else if (resumed) {
      // The unfinished shards' positions are in objects of the old folder: they start over in
      // the new one; the shards already done stay done.
      const { unloaded: _old, ...rest } = sharded;
      sharded = { ...rest, unloadPrefix };
      await shardStore.start(
        owner,
        deps.leaseMs,
        sharded,
        unfinished.filter((s) => s in own),
      );
    } else {
      sharded = { ...checkpoint, shards: start.shards, unloadPrefix };
      await shardStore.start(owner, deps.leaseMs, sharded, Object.keys(stored).map(Number));
    }
    checkpoint = sharded;
    const items = Array.from({ length: sharded.shards }, (_, shard) => ({
      view: view.name,
      runId: checkpoint.runId,
      owner,
      shard,
      unloadPrefix,
    }));
    return {
      mode: 'sharded',
      view: view.name,
      runId: checkpoint.runId,
      owner,
      resumed,
      tiles: sharded.tiles === true && viewTileSpec(deps.registry, view) !== undefined,
      ...(estimatedRows !== undefined ? { estimatedRows } : {}),
      ...(unloaded
        ? {}
        : {
            unloadSql: renderShardUnload(
              { view: planned, window: checkpoint.window },
              deps.dialect,
              sharded.shards,
              `s3://${deps.bucket}/${unloadPrefix}`,
            ),
          }),
      items,
    };
  } catch (error) {
    await store.releaseLease(owner).catch(() => undefined);
    throw error;
  }
}

/**
 * Rows a new run will read, from what is known without a scan: an incremental run's new
 * ingest rows (commit records), a full run's every committed row, or what the last run read.
 * Undefined when nothing tells (the run then takes the sharded path, which fits any size).
 */
export function estimateRows(
  checkpoint: Checkpoint,
  state: MaterializationState,
  snapshot: readonly { rows: number }[] | undefined,
): number | undefined {
  if (checkpoint.scope?.kind === 'incremental') return checkpoint.scope.newIngestRows;
  if (checkpoint.scope?.kind === 'full' && snapshot && snapshot.length > 0)
    return snapshot.reduce((sum, ingest) => sum + ingest.rows, 0);
  return state.lastRun?.counts.rowsRead;
}

export interface ShardedRunRef {
  readonly view: string;
  readonly runId: string;
  readonly owner: string;
}

/**
 * Ends a sharded run whose map succeeded: checks every shard is done (else refuses and moves
 * nothing), records the run and moves the watermark and ingest coverage in one conditional
 * update, then removes the shard checkpoints.
 */
export async function finishShardedRun(
  deps: ShardedRunDependencies,
  ref: ShardedRunRef,
): Promise<LastRun & { readonly newestEventTs?: string }> {
  const now = deps.now ?? Date.now;
  const { view, store, shardStore } = parts(deps, ref.view, now);
  const { state, checkpoint } = await currentRun(store, ref);
  const progress = Object.values(await shardStore.read()).filter((p) => p.runId === ref.runId);
  const count = shardsOf(checkpoint);
  const done = progress.filter((p) => p.done).map((p) => p.shard);
  if (done.length < count)
    throw new ShardedRunError(
      `run ${ref.runId} of ${view.name}: ${count - done.length} of ${count} shards are not done (done: ${done.join(', ') || 'none'}); the watermark stays`,
      'start the state machine again: the run resumes with only its unfinished shards',
    );
  // A run with tile bases is done when every shard's bases are written too (unless the view
  // lost its tiles since it was planned: its shards then write none, as a single run).
  const tileFed = checkpoint.tiles === true && viewTileSpec(deps.registry, view) !== undefined;
  const basesPending = progress.filter((p) => tileFed && p.tiles?.done !== true);
  if (basesPending.length > 0)
    throw new ShardedRunError(
      `run ${ref.runId} of ${view.name}: ${basesPending.length} of ${count} shards have not written their tile bases (${basesPending.map((p) => p.shard).join(', ')}); the watermark stays`,
      'start the state machine again: those shards resume their tile bases from their checkpoints',
    );
  const combined = combineShardProgress(progress);
  const finished: Checkpoint = {
    ...checkpoint,
    counts: combined.counts,
    ...(combined.newestEventTs ? { newestEventTs: combined.newestEventTs } : {}),
    nullCounts: combined.nullCounts,
  };
  const run = lastRunOf(finished, 'succeeded', now);
  const issues = viewQualityIssues(view, finished);
  const watermark = finished.backfill
    ? state.watermark
    : laterIso(state.watermark, finished.window.until);
  const newestEventTs = laterIso(state.newestEventTs, finished.newestEventTs);
  const record = { ...run, ...(issues.length > 0 ? { qualityIssues: issues } : {}) };
  // Every shard wrote its entities' bases (above): the mark is set or kept as by a single run.
  const tileBases = tileBaseMark(state, finished, tileFed);
  await store.finish(ref.owner, record, {
    ...(tileBases !== undefined ? { tileBases } : {}),
    ...(watermark ? { watermark } : {}),
    ...(newestEventTs ? { newestEventTs } : {}),
    ...(finished.coverage ? { ingests: finished.coverage } : {}),
    ...(finished.coverage && finished.definition ? { definition: finished.definition } : {}),
  });
  await shardStore.clearFinished(Array.from({ length: count }, (_, s) => s)).catch(() => undefined);
  return { ...record, ...(newestEventTs ? { newestEventTs } : {}) };
}

/**
 * Extends the run's lease while its UNLOAD runs (no shard writes yet, and only their records
 * extend it later), so an UNLOAD longer than the lease is not taken over by the next execution.
 * Refuses, changing nothing, when the run is no longer the view's current one.
 */
export async function renewShardedRun(
  deps: ShardedRunDependencies,
  ref: ShardedRunRef,
): Promise<void> {
  const { store } = parts(deps, ref.view, deps.now ?? Date.now);
  const { checkpoint } = await currentRun(store, ref);
  await store.checkpoint(ref.owner, deps.leaseMs, checkpoint);
}

/**
 * Records what the run's UNLOAD wrote, per shard (unload-manifest.ts), once the query
 * succeeded and before any shard writer runs: the writers, and a later execution resuming the
 * run, check the folder against it. Extends the lease; refuses, changing nothing, when the run
 * is no longer the view's current one.
 */
export async function recordShardedUnload(
  deps: ShardedRunDependencies,
  ref: ShardedRunRef,
): Promise<UnloadManifest> {
  const now = deps.now ?? Date.now;
  const { store } = parts(deps, ref.view, now);
  const { checkpoint } = await currentRun(store, ref);
  const sharded = checkpoint as ShardedCheckpoint;
  if (sharded.unloadPrefix === undefined)
    throw new ShardedRunError(
      `run ${ref.runId} of ${ref.view} has no UNLOAD folder; nothing was recorded`,
      'start the state machine again: the run then unloads into its execution folder',
    );
  const manifest = await recordUnload(
    deps.s3,
    deps.bucket,
    sharded.unloadPrefix,
    shardsOf(sharded),
    now,
  );
  const recorded: ShardedCheckpoint = { ...sharded, unloaded: manifest };
  await store.checkpoint(ref.owner, deps.leaseMs, recorded);
  return manifest;
}

/**
 * A sharded run whose UNLOAD or map failed: records the failure with the rows its shards read
 * and gives the lease back; the checkpoints stay, so the next execution resumes the run.
 */
export async function failShardedRun(
  deps: ShardedRunDependencies,
  ref: ShardedRunRef & { readonly error: string },
): Promise<LastRun> {
  const now = deps.now ?? Date.now;
  const { store, shardStore } = parts(deps, ref.view, now);
  const { checkpoint } = await currentRun(store, ref);
  const progress = Object.values(await shardStore.read()).filter((p) => p.runId === ref.runId);
  const counted: Checkpoint = { ...checkpoint, counts: combineShardProgress(progress).counts };
  await store.checkpoint(ref.owner, deps.leaseMs, counted);
  const run = { ...lastRunOf(counted, 'failed', now), error: ref.error.slice(0, 1000) };
  await store.release(ref.owner, run);
  return run;
}

function parts(deps: ShardedRunDependencies, name: string, now: () => number) {
  const { view, planned } = plannedOnlineView(deps.registry, name);
  const prefix = view.onlineStore.keyPrefix;
  return {
    view,
    planned,
    store: new MaterializationStateStore(deps.dynamo, deps.table, prefix, now),
    shardStore: new ShardStateStore(deps.dynamo, deps.table, prefix, now),
  };
}

async function currentRun(store: MaterializationStateStore, ref: ShardedRunRef) {
  const state = await store.read();
  const checkpoint = state.checkpoint;
  if (!checkpoint || checkpoint.runId !== ref.runId || state.lease?.owner !== ref.owner)
    throw new ShardedRunError(
      `run ${ref.runId} of ${ref.view} held by ${ref.owner} is not the view's current run (${checkpoint?.runId ?? 'none'}, lease ${state.lease?.owner ?? 'free'}); nothing was changed`,
      'its lease expired and another run took over: that run moves the watermark',
    );
  return { state, checkpoint };
}

function lastRunOf(checkpoint: Checkpoint, status: LastRun['status'], now: () => number): LastRun {
  const { newIngests: _newIngests, ...window } = checkpoint.window;
  return {
    runId: checkpoint.runId,
    status,
    startedAt: checkpoint.startedAt,
    finishedAt: new Date(now()).toISOString(),
    window,
    ...(checkpoint.scope ? { scope: checkpoint.scope } : {}),
    counts: checkpoint.counts,
    durationMs: Math.max(0, now() - Date.parse(checkpoint.startedAt)),
  };
}
