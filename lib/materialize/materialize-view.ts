import { randomBytes } from 'node:crypto';
import type { DeleteItemCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { epochMicrosOf, formatMicros, laterIso, millisOfMicros } from '../epoch-micros.ts';
import { faultPoint, pauseAt } from '../fault-injection.ts';
import { HintedError } from '../hinted-error.ts';
import { instantArg } from '../instant-arg.ts';
import { sendConditionalPuts } from '../online/conditional-puts.ts';
import { itemAttributes, microsToIso } from '../online/item-codec.ts';
import { deleteIfHoldingCommand, type OnlineRow, putCommand } from '../online/online-writer.ts';
import type { RuntimeFeatureView, RuntimeRegistry } from '../registry/runtime-projection.ts';
import { type PlannedView, planPointInTime } from '../sql/point-in-time-plan.ts';
import { definitionFingerprint } from './definition-fingerprint.ts';
import { constraintViolations } from './feature-constraints.ts';
import {
  type CommittedIngest,
  coverageAfter,
  type IngestLog,
  newIngestRows,
  uncoveredIngests,
} from './ingest-coverage.ts';
import {
  type Checkpoint,
  type LastRun,
  LeaseLostError,
  type MaterializationState,
  MaterializationStateStore,
  type RunCounts,
  type RunScope,
} from './materialization-state.ts';
import { writeShards } from './materialize-shards.ts';
import type { QuarantinedRow, QuarantineRun, QuarantineSink } from './quarantine.ts';
import { type ResumeKey, type RowSource, resumeKeyOf } from './row-source.ts';
import { combineShardProgress, maxShards } from './shard-plan.ts';
import { type ShardedCheckpoint, ShardStateStore, shardsOf } from './shard-state.ts';
import type { TileBaseWriter } from './tile-base-writer.ts';
import { tileKeyProblem } from './tile-key-problem.ts';
import { writeInChunks } from './write-in-chunks.ts';

/** Named explicitly: the sharded state machine does not retry it by this name. */
export class MaterializationError extends HintedError {
  override name = 'MaterializationError';
}

export interface MaterializeViewOptions {
  readonly registry: RuntimeRegistry;
  readonly view: string;
  readonly client: DynamoDBClient;
  readonly table: string;
  readonly source: RowSource;
  readonly quarantine: (run: QuarantineRun) => QuarantineSink;
  /**
   * Read every row up to now, whatever the state covers, and start over a run left paused (for
   * an operator who knows items are stale, e.g. written before definition fingerprints). Not
   * with `range`.
   */
  readonly full?: boolean;
  /** A backfill of event times `start <= t <= end`; the watermark stays where it is. */
  readonly range?: { readonly start?: string; readonly end?: string };
  /**
   * The store's commit points. With them a scheduled run reads only the rows of ingests the
   * last run had not seen (late ones included) and rows dated since it; without them (or for a
   * store without commit records) it reads rows dated after the watermark minus the lateness.
   */
  readonly ingests?: IngestLog;
  /** How far behind the newest commit another can still appear (see ingest-coverage.ts). */
  readonly ingestSettleMs?: number;
  /**
   * For a store without commit records only: how far before the watermark a scheduled run
   * looks again for late rows. Default 1 hour.
   */
  readonly allowedLatenessSeconds?: number;
  readonly concurrency?: number;
  /**
   * Split a new run's window by a hash of the entity key into this many shards, written
   * concurrently, each with its own checkpoint (docs/scale.md). Default 1 (one writer). A
   * resumed run keeps the shard count it started with.
   */
  readonly shards?: number;
  /** One shard's row source; default `source` (which must then stream queries concurrently). */
  readonly shardSource?: (shard: number) => RowSource;
  /** Rows written between checkpoints. Default 2000. */
  readonly chunkRows?: number;
  /** Lease length, renewed at every checkpoint. Default 5 minutes. */
  readonly leaseMs?: number;
  /** Who runs this, for the lease (e.g. a Lambda request id). */
  readonly owner?: string;
  /** Whether the holder of a lease no longer runs, so its lease can be taken over at once. */
  readonly isOwnerGone?: (owner: string) => boolean;
  /** Asked after each checkpoint; true stops the run there, to resume in a later invocation. */
  readonly shouldPause?: () => boolean;
  /**
   * A stop request (SIGINT/SIGTERM): like `shouldPause`, the run stops at its next checkpoint
   * (or before reading on), gives its lease back and returns `paused`, resumable.
   */
  readonly signal?: AbortSignal;
  readonly onStart?: (info: {
    window: Checkpoint['window'];
    resumed: boolean;
    /** Rows still to read in this run, when the source can count them up front. */
    total?: number;
    /** Rows a resumed run had read before its checkpoint (`onProgress` counts include them). */
    alreadyRead: number;
  }) => void;
  readonly onProgress?: (counts: RunCounts) => void;
  /**
   * For a view with `onlineTiles`: writes the tiles' base of each chunk's entities from the
   * offline rows (ADR 0020, "Scheduled materialization"), before the chunk's checkpoint.
   */
  readonly tiles?: TileBaseWriter;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface MaterializeViewResult {
  readonly view: string;
  readonly runId: string;
  readonly status: 'succeeded' | 'paused';
  readonly resumed: boolean;
  /** A paused run: the join key of the last row written, where the next run resumes. */
  readonly resumeAfter?: readonly (string | number)[];
  readonly window: Checkpoint['window'];
  /** Full, incremental (with how many new ingests), backfill, or by lateness. */
  readonly scope?: RunScope;
  readonly counts: RunCounts;
  readonly durationMs: number;
  readonly watermark?: string;
  readonly newestEventTs?: string;
  /** Now minus the newest event time materialized so far, in milliseconds. */
  readonly freshnessLagMs?: number;
  readonly quarantine?: string;
  /** View quality rules the run broke; its rows are written all the same. */
  readonly qualityIssues?: readonly string[];
  /** A sharded run: its shard count, the shards written now, those done by an earlier invocation. */
  readonly shards?: {
    readonly count: number;
    readonly ran: readonly number[];
    readonly alreadyDone: readonly number[];
  };
}

const zero: RunCounts = { rowsRead: 0, written: 0, skippedAsOlder: 0, rejected: 0 };

/**
 * One materialization run of one online view: takes the view's lease, works out the window
 * (from the watermark minus the allowed lateness to now, or the backfill range, or the
 * checkpoint of an interrupted run), streams the newest row per entity of that window in
 * join-key order, quarantines rows that break constraints, writes the rest with conditional
 * puts, and checkpoints after every chunk. The watermark moves only when the whole window is
 * written; a rerun after a crash resumes at the checkpoint and, since writes are conditional,
 * ends in the same online state as one clean run.
 */
export async function materializeView(
  options: MaterializeViewOptions,
): Promise<MaterializeViewResult> {
  const now = options.now ?? Date.now;
  const { view, planned } = plannedOnlineView(options.registry, options.view);
  const leaseMs = options.leaseMs ?? 5 * 60_000;
  const owner = options.owner ?? `${process.pid}-${randomBytes(4).toString('hex')}`;
  const store = new MaterializationStateStore(
    options.client,
    options.table,
    view.onlineStore.keyPrefix,
    now,
  );
  const startedMs = now();
  const stopRequested = () => options.signal?.aborted === true || options.shouldPause?.() === true;
  // A bad range is refused before the lease is taken, so it changes nothing.
  if (options.full && options.range)
    throw new MaterializationError(
      `a full run of ${view.name} reads every row; it takes no range`,
      'give either a full run or a backfill range',
    );
  const backfill = options.range ? backfillWindow(options.range, now) : undefined;
  const shards = options.shards ?? 1;
  if (!Number.isSafeInteger(shards) || shards < 1 || shards > maxShards)
    throw new MaterializationError(
      `${view.name}: the shard count must be a whole number from 1 to ${maxShards}, got ${shards}`,
      '1 is one writer; more split the entities among concurrent writers',
    );
  const state = await store.acquire(owner, leaseMs, options.isOwnerGone);
  const definition = definitionFingerprint(view, planned);
  let snapshot: readonly CommittedIngest[] | undefined;
  if (
    options.ingests &&
    !backfill &&
    (options.full || !(state.checkpoint && !state.checkpoint.backfill))
  ) {
    try {
      snapshot = await options.ingests.committedIngests(
        view.source,
        state.definition === definition ? state.ingests : undefined,
      );
    } catch (error) {
      await store.release(owner, notStarted(startedMs, now, error)).catch(() => undefined);
      throw error;
    }
  }
  let checkpoint = planRun(state, backfill, options, now, { snapshot, definition });
  const resumed = checkpoint === state.checkpoint;
  if (!resumed && shards > 1) checkpoint = { ...checkpoint, shards } as ShardedCheckpoint;
  let shardRun: MaterializeViewResult['shards'];
  let afterFinish: (() => Promise<void>) | undefined;
  const sink = options.quarantine({ view: view.name, runId: checkpoint.runId });
  const qualityIssues = () => viewQualityIssues(view, checkpoint);
  const runOf = (status: LastRun['status'], error?: unknown): LastRun => ({
    runId: checkpoint.runId,
    status,
    startedAt: checkpoint.startedAt,
    finishedAt: new Date(now()).toISOString(),
    // The new ingests' ranges and partitions are in the checkpoint while it runs; the record of
    // the run keeps their counts (scope), so the state item does not hold them twice.
    window: withoutIngestFilter(checkpoint.window),
    ...(checkpoint.scope ? { scope: checkpoint.scope } : {}),
    counts: checkpoint.counts,
    durationMs: now() - startedMs,
    ...(checkpoint.counts.rejected > 0 ? { quarantine: sink.location } : {}),
    ...(status === 'succeeded' && qualityIssues().length > 0
      ? { qualityIssues: qualityIssues() }
      : {}),
    ...(error ? { error: (error as Error).message } : {}),
  });
  try {
    if (shardsOf(checkpoint) > 1) {
      const outcome = await writeShardedRun(planned);
      if (outcome === 'paused') {
        await store.release(owner, runOf('paused'));
        return result('paused');
      }
      return await finishRun();
    }
    await store.checkpoint(owner, leaseMs, checkpoint);
    const query = {
      view: planned,
      window: checkpoint.window,
      ...(checkpoint.afterKey ? { afterKey: checkpoint.afterKey } : {}),
    };
    const total =
      options.onStart && options.source.countLatest
        ? await options.source.countLatest(query)
        : undefined;
    options.onStart?.({
      window: checkpoint.window,
      resumed,
      alreadyRead: checkpoint.counts.rowsRead,
      ...(total !== undefined ? { total } : {}),
    });
    const chunkRows = options.chunkRows ?? 2000;
    const writeChunk = async (rows: Record<string, unknown>[]): Promise<void> => {
      // Items record the time their values are as of (the window's end), not the wall clock; the
      // attribute is in milliseconds (readers compare it with the item's microsecond event_ts).
      const untilMs = millisOfMicros(epochMicrosOf(checkpoint.window.until));
      const result = await writeRows(view, rows, options, untilMs, {
        definition,
        fullRun: checkpoint.scope?.kind === 'full',
      });
      sink.add(result.rejected);
      await sink.flush();
      await options.tiles?.writeEntities(tileKeyed(view, rows), query);
      const last = rows[rows.length - 1] as Record<string, unknown>;
      checkpoint = {
        ...checkpoint,
        afterKey: resumeKeyOf(planned, last),
        counts: {
          rowsRead: checkpoint.counts.rowsRead + rows.length,
          written: checkpoint.counts.written + result.written,
          skippedAsOlder: checkpoint.counts.skippedAsOlder + result.skippedAsOlder,
          rejected: checkpoint.counts.rejected + result.rejected.length,
          ...withDeleted((checkpoint.counts.deleted ?? 0) + result.deleted),
        },
        ...newest(checkpoint.newestEventTs, result.newestEventTs),
        nullCounts: addNulls(checkpoint.nullCounts, view, rows),
      };
      await store.checkpoint(owner, leaseMs, checkpoint);
      options.onProgress?.(checkpoint.counts);
      faultPoint('materialize:after-checkpoint');
      await pauseAt('materialize:after-checkpoint', options.signal);
    };

    const outcome = await writeInChunks(options.source.latestRows(query), {
      chunkRows,
      signal: options.signal,
      stopRequested,
      write: writeChunk,
    });
    if (outcome === 'paused') {
      await store.release(owner, runOf('paused'));
      return result('paused');
    }
    return await finishRun();
  } catch (error) {
    // writeInChunks waited for the chunk in flight, so no put of this run lands after this.
    if (!(error instanceof LeaseLostError))
      await store.release(owner, runOf('failed', error)).catch(() => undefined);
    throw error;
  }

  /** Moves the watermark and the ingest coverage: every row (of every shard) is written. */
  async function finishRun(): Promise<MaterializeViewResult> {
    const watermark = checkpoint.backfill
      ? state.watermark
      : later(state.watermark, checkpoint.window.until);
    const newestEventTs = later(state.newestEventTs, checkpoint.newestEventTs);
    // The ingests of this run's snapshot count as written only now, with the watermark.
    const tileBases = tileBaseMark(state, checkpoint, options.tiles !== undefined);
    await store.finish(owner, runOf('succeeded'), {
      ...(tileBases !== undefined ? { tileBases } : {}),
      ...(watermark ? { watermark } : {}),
      ...(newestEventTs ? { newestEventTs } : {}),
      ...(checkpoint.coverage ? { ingests: checkpoint.coverage } : {}),
      ...(checkpoint.coverage && checkpoint.definition
        ? { definition: checkpoint.definition }
        : {}),
    });
    await afterFinish?.();
    return result('succeeded', { watermark, newestEventTs });
  }

  /**
   * The shards of a sharded run, each from its own checkpoint; a shard that keeps failing fails
   * the run once the others stopped (their checkpoints kept, so a rerun resumes only the
   * unfinished shards), and the watermark stays until every shard is done.
   */
  async function writeShardedRun(planned: PlannedView): Promise<'done' | 'paused'> {
    const sharded = checkpoint as ShardedCheckpoint;
    const shardStore = new ShardStateStore(
      options.client,
      options.table,
      view.onlineStore.keyPrefix,
      now,
    );
    const stored = await shardStore.read();
    if (resumed) await store.checkpoint(owner, leaseMs, checkpoint);
    else await shardStore.start(owner, leaseMs, sharded, Object.keys(stored).map(Number));
    const progress = resumed ? stored : {};
    const alreadyRead = combineShardProgress(
      Object.values(progress).filter((p) => p.runId === sharded.runId),
    ).counts.rowsRead;
    const total =
      options.onStart && options.source.countLatest
        ? await options.source.countLatest({ view: planned, window: checkpoint.window })
        : undefined;
    options.onStart?.({
      window: checkpoint.window,
      resumed,
      alreadyRead,
      ...(total !== undefined ? { total: Math.max(0, total - alreadyRead) } : {}),
    });
    // Shards share the quarantine file: one add-and-flush at a time.
    let quarantined: Promise<void> = Promise.resolve();
    const untilMs = millisOfMicros(epochMicrosOf(checkpoint.window.until));
    const written = await writeShards({
      planned,
      checkpoint: sharded,
      progress,
      store: shardStore,
      owner,
      leaseMs,
      chunkRows: options.chunkRows ?? 2000,
      sourceOf: options.shardSource ?? (() => options.source),
      write: async (rows) => {
        const chunk = await writeRows(view, rows, options, untilMs, {
          definition,
          fullRun: checkpoint.scope?.kind === 'full',
        });
        await options.tiles?.writeEntities(tileKeyed(view, rows));
        quarantined = quarantined.then(() => {
          sink.add(chunk.rejected);
          return sink.flush();
        });
        await quarantined;
        return {
          written: chunk.written,
          skippedAsOlder: chunk.skippedAsOlder,
          rejected: chunk.rejected.length,
          deleted: chunk.deleted,
          ...(chunk.newestEventTs ? { newestEventTs: chunk.newestEventTs } : {}),
        };
      },
      nulls: (counts, rows) => addNulls(counts, view, rows),
      signal: options.signal,
      stopRequested,
      ...(options.sleep ? { sleep: options.sleep } : {}),
      onProgress: (counts) => {
        checkpoint = { ...checkpoint, counts };
        options.onProgress?.(counts);
      },
    });
    const combined = combineShardProgress(Object.values(written.progress));
    checkpoint = {
      ...checkpoint,
      counts: combined.counts,
      ...(combined.newestEventTs ? { newestEventTs: combined.newestEventTs } : {}),
      nullCounts: combined.nullCounts,
    };
    shardRun = { count: sharded.shards, ran: written.ran, alreadyDone: written.alreadyDone };
    // A stopped or failed run's checkpoint shows the rows its shards read (fstore status).
    if (written.status !== 'done')
      await store.checkpoint(owner, leaseMs, checkpoint).catch(() => undefined);
    if (written.status === 'failed') throw written.error;
    if (written.status === 'done') {
      // Best effort: the next sharded run removes them when it starts anyway.
      const all = Array.from({ length: sharded.shards }, (_, s) => s);
      afterFinish = () => shardStore.clearFinished(all).catch(() => undefined);
    }
    return written.status;
  }

  function result(
    status: MaterializeViewResult['status'],
    advanced: { watermark?: string | undefined; newestEventTs?: string | undefined } = {},
  ): MaterializeViewResult {
    const newestEventTs =
      advanced.newestEventTs ?? later(state.newestEventTs, checkpoint.newestEventTs);
    return {
      view: view.name,
      runId: checkpoint.runId,
      status,
      resumed,
      window: checkpoint.window,
      ...(checkpoint.scope ? { scope: checkpoint.scope } : {}),
      counts: checkpoint.counts,
      durationMs: now() - startedMs,
      ...(status === 'paused' && checkpoint.afterKey ? { resumeAfter: checkpoint.afterKey } : {}),
      ...((advanced.watermark ?? state.watermark)
        ? { watermark: advanced.watermark ?? state.watermark }
        : {}),
      ...(newestEventTs
        ? { newestEventTs, freshnessLagMs: now() - millisOfMicros(epochMicrosOf(newestEventTs)) }
        : {}),
      ...(checkpoint.counts.rejected > 0 ? { quarantine: sink.location } : {}),
      ...(status === 'succeeded' && qualityIssues().length > 0
        ? { qualityIssues: qualityIssues() }
        : {}),
      ...(shardRun ? { shards: shardRun } : {}),
    };
  }
}

export function addNulls(
  counts: Readonly<Record<string, number>> | undefined,
  view: RuntimeFeatureView,
  rows: readonly Record<string, unknown>[],
): Record<string, number> {
  const next = { ...counts };
  for (const feature of view.features) {
    let nulls = 0;
    for (const row of rows)
      if (row[feature.name] === null || row[feature.name] === undefined) nulls++;
    next[feature.name] = (next[feature.name] ?? 0) + nulls;
  }
  return next;
}

/**
 * The view's `quality` rules a whole run broke: too few rows (runs that read the whole data or a
 * range), too many NULLs in a feature.
 */
export function viewQualityIssues(view: RuntimeFeatureView, run: Checkpoint): string[] {
  const issues: string[] = [];
  const rows = run.counts.rowsRead;
  const minRows = view.quality?.minRows;
  // An incremental run reads only what is new, often nothing: the rule is about the whole data.
  if (minRows !== undefined && run.scope?.kind !== 'incremental' && rows < minRows)
    issues.push(`min rows ${minRows}: the run read ${rows}`);
  const maxNull = view.quality?.maxNullPercent;
  if (maxNull !== undefined && rows > 0)
    for (const feature of view.features) {
      const nulls = run.nullCounts?.[feature.name] ?? 0;
      const percent = (100 * nulls) / rows;
      if (percent > maxNull)
        issues.push(
          `${feature.name} max null ${maxNull}%: ${percent.toFixed(2)}% null (${nulls} of ${rows} rows)`,
        );
    }
  return issues;
}

/** The online view `name` and its point-in-time plan of every feature, as a run writes them. */
export function plannedOnlineView(
  registry: RuntimeRegistry,
  name: string,
): { readonly view: RuntimeFeatureView; readonly planned: PlannedView } {
  const view = onlineView(registry, name);
  const planned = planPointInTime(
    registry,
    { features: [`${view.name}:*`] },
    { entityTimestampColumn: 'fstore_unused' },
  ).views[0];
  if (!planned) throw new MaterializationError(`view ${view.name} has no features`, '');
  return { view, planned };
}

export function onlineView(registry: RuntimeRegistry, name: string): RuntimeFeatureView {
  const view = registry.featureViews.find((v) => v.name === name);
  if (!view)
    throw new MaterializationError(
      `unknown feature view "${name}"`,
      `online views: ${
        registry.featureViews
          .filter((v) => v.online)
          .map((v) => v.name)
          .join(', ') || 'none'
      }`,
    );
  if (!view.online)
    throw new MaterializationError(
      `feature view "${name}" is not online, so it is not materialized`,
      'set online: true in its definition',
    );
  return view;
}

/** The window of a backfill: `start` (inclusive) to `end`, default now. */
function backfillWindow(
  range: NonNullable<MaterializeViewOptions['range']>,
  now: () => number,
): Checkpoint['window'] {
  const start = range.start ? instantArg(range.start, '--start') : undefined;
  const until = range.end ? instantArg(range.end, '--end') : new Date(now()).toISOString();
  if (start && epochMicrosOf(start) > epochMicrosOf(until))
    throw new MaterializationError(
      `the backfill range starts (${start}) after it ends (${until})`,
      'give --start before --end',
    );
  return { ...(start ? { from: start } : {}), until };
}

/** A run that failed before it read anything (reading the commit records), for `lastRun`. */
function notStarted(startedMs: number, now: () => number, error: unknown): LastRun {
  const at = new Date(now()).toISOString();
  return {
    runId: 'not-started',
    status: 'failed',
    startedAt: new Date(startedMs).toISOString(),
    finishedAt: at,
    window: { until: at },
    counts: zero,
    durationMs: now() - startedMs,
    error: (error as Error).message,
  };
}

/**
 * The checkpoint to resume, or a fresh one for the window this run covers: with a snapshot of
 * the committed ingests, a full run when the state covers none yet or was for another
 * definition, else an incremental one over the ingests it does not cover.
 */
export function planRun(
  state: MaterializationState,
  backfill: Checkpoint['window'] | undefined,
  options: Pick<
    MaterializeViewOptions,
    'full' | 'ingests' | 'ingestSettleMs' | 'allowedLatenessSeconds'
  > & {
    /** The run writes tile bases (a writer, or true where the shards write them). */
    readonly tiles?: TileBaseWriter | true;
  },
  now: () => number,
  ingests: { snapshot: readonly CommittedIngest[] | undefined; definition: string },
): Checkpoint {
  const nowIso = new Date(now()).toISOString();
  const fresh = (window: Checkpoint['window'], backfill: boolean): Checkpoint => ({
    runId: `${nowIso.replace(/[-:.]/g, '').slice(0, 15)}-${randomBytes(3).toString('hex')}`,
    startedAt: nowIso,
    window,
    backfill,
    counts: zero,
    ...(options.tiles ? { tiles: true } : {}),
  });
  // A tile-fed view without a base for every entity reads every entity once (ADR 0020, "Backfill").
  const basesMissing = options.tiles !== undefined && state.tileBases !== true;
  if (backfill) {
    const window = backfill;
    const previous = state.checkpoint;
    if (
      previous?.backfill &&
      previous.window.from === window.from &&
      previous.window.until === window.until
    )
      return previous;
    return { ...fresh(window, true), scope: { kind: 'backfill' } };
  }
  if (state.checkpoint && !state.checkpoint.backfill && !options.full) return state.checkpoint;
  const { snapshot, definition } = ingests;
  if (snapshot) {
    const settle = options.ingestSettleMs;
    const bySeq = options.ingests?.seqInCommitOrder === true;
    const fullBecause = options.full
      ? 'asked for'
      : !state.watermark
        ? 'first run'
        : state.definition !== undefined && state.definition !== definition
          ? 'the definition changed'
          : !state.ingests
            ? 'the state tracks no ingests yet'
            : basesMissing
              ? 'the tiles have no base yet'
              : undefined;
    if (fullBecause || !state.ingests || !state.watermark)
      return {
        ...fresh({ until: nowIso }, false),
        scope: { kind: 'full', reason: fullBecause ?? 'first run' },
        coverage: coverageAfter(undefined, snapshot, settle, bySeq),
        definition,
      };
    const uncovered = uncoveredIngests(state.ingests, snapshot);
    const rows = newIngestRows(uncovered);
    return {
      ...fresh(
        {
          after: state.watermark,
          until: nowIso,
          newIngests: {
            seqRanges: rows.seqRanges,
            ...(rows.days ? { days: rows.days } : {}),
          },
        },
        false,
      ),
      scope: { kind: 'incremental', newIngests: rows.ingests, newIngestRows: rows.rows },
      coverage: coverageAfter(state.ingests, snapshot, settle, bySeq),
      definition,
    };
  }
  const lateness = BigInt(Math.round((options.allowedLatenessSeconds ?? 3600) * 1_000_000));
  const after =
    state.watermark && !options.full && !basesMissing
      ? formatMicros(epochMicrosOf(state.watermark) - lateness)
      : undefined;
  return {
    ...fresh({ ...(after ? { after } : {}), until: nowIso }, false),
    scope: after
      ? { kind: 'lateness' }
      : {
          kind: 'full',
          reason: options.full
            ? 'asked for'
            : !state.watermark
              ? 'first run'
              : 'the tiles have no base yet',
        },
  };
}

/**
 * The tile base mark a finished run leaves: set when a full run wrote bases from its first
 * chunk, kept while runs write them, removed by one that does not (undefined: unchanged, for a
 * backfill range, which covers no ingest, or a mark that is already absent).
 */
export function tileBaseMark(
  state: MaterializationState,
  run: Checkpoint,
  tileFed: boolean,
): boolean | undefined {
  if (run.backfill) return undefined;
  if (tileFed && run.tiles === true && (run.scope?.kind === 'full' || state.tileBases === true))
    return true;
  return state.tileBases === true ? false : undefined;
}

export interface WrittenRows {
  readonly written: number;
  readonly skippedAsOlder: number;
  readonly rejected: QuarantinedRow[];
  /** Items removed because they held a row this run quarantines. */
  readonly deleted: number;
  readonly newestEventTs?: string;
}

/**
 * Writes one chunk: a conditional put per row that keeps the view's constraints (replacing an
 * older row, or on a full run any item of another definition), and on a full run, for each row
 * it quarantines, a conditional delete of an item still holding that very row (written when an
 * earlier definition let it through; a DynamoDB delete that finds another row changes nothing).
 */
export async function writeRows(
  view: RuntimeFeatureView,
  rows: readonly Record<string, unknown>[],
  options: Pick<MaterializeViewOptions, 'client' | 'table' | 'concurrency' | 'sleep'>,
  nowMs: number,
  run: { readonly definition: string; readonly fullRun: boolean },
): Promise<WrittenRows> {
  const puts: PutItemCommand[] = [];
  const deletes: DeleteItemCommand[] = [];
  const rejected: QuarantinedRow[] = [];
  let newestMicros: bigint | undefined;
  const quarantine = (online: OnlineRow, row: Record<string, unknown>, reasons: string[]) => {
    rejected.push({ row, reasons });
    // Only a full run can meet an item holding this row (one an earlier definition wrote); on
    // other runs every conditional delete would be a paid write that changes nothing.
    if (!run.fullRun) return;
    try {
      deletes.push(deleteIfHoldingCommand(options.table, view, online));
    } catch {
      // A key or time that cannot be encoded: no item can hold this row.
    }
  };
  for (const row of rows) {
    const online: OnlineRow = {
      values: row,
      eventTs: row.event_ts,
      createdTs: row.created_ts,
      seq: row.fstore_seq,
    };
    const reasons = constraintViolations(view.features, row);
    const keyProblem = tileKeyProblem(view, row);
    if (keyProblem !== undefined) reasons.push(keyProblem);
    if (reasons.length > 0) {
      quarantine(online, row, reasons);
      continue;
    }
    try {
      const command = putCommand(options.table, view, online, nowMs, run.definition, run.fullRun);
      puts.push(command);
      const micros = BigInt(command.input.Item?.[itemAttributes.eventTs]?.N ?? '0');
      if (newestMicros === undefined || micros > newestMicros) newestMicros = micros;
    } catch (error) {
      quarantine(online, row, [(error as Error).message]);
    }
  }
  const writeOptions = {
    concurrency: options.concurrency ?? 16,
    ...(options.sleep ? { sleep: options.sleep } : {}),
  };
  const sent = await sendConditionalPuts(options.client, puts, writeOptions);
  const removed =
    deletes.length > 0
      ? await sendConditionalPuts(options.client, deletes, writeOptions)
      : { written: 0 };
  return {
    written: sent.written,
    skippedAsOlder: sent.skippedAsOlder,
    rejected,
    deleted: removed.written,
    ...(newestMicros !== undefined ? { newestEventTs: microsToIso(newestMicros) } : {}),
  };
}

function withoutIngestFilter(window: Checkpoint['window']): Checkpoint['window'] {
  const { newIngests: _newIngests, ...rest } = window;
  return rest;
}

/** The rows whose entity's tile items can be keyed: writeRows quarantined the others. */
const tileKeyed = (view: RuntimeFeatureView, rows: Record<string, unknown>[]) =>
  rows.filter((row) => tileKeyProblem(view, row) === undefined);

/** `deleted` appears in the counts only once a run has deleted something. */
const withDeleted = (deleted: number) => (deleted > 0 ? { deleted } : {});

/** The later of two instants, compared in microseconds (Date.parse would see a tie). */
const later = laterIso;

function newest(current: string | undefined, candidate: string | undefined) {
  const value = later(current, candidate);
  return value ? { newestEventTs: value } : {};
}

export type { ResumeKey };
