import { readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { IngestError, ingestFile } from '../offline/ingest.ts';
import { InputFileError } from '../offline/read-input-file.ts';
import { acquireProcessLock, LockedError } from '../process-lock.ts';
import type { Registry, RegistrySource } from '../registry/index.ts';
import { type CommittedFiles, committedFilesNamed } from './committed-push-files.ts';
import {
  contentHash,
  ingestedPushIds,
  legacyIngestedLogHashes,
  recordIngestedPushes,
} from './ingested-log-ledger.ts';
import {
  failedPushLogDir,
  moveAsideFailedLog,
  pendingPushLogs,
  pushIdOfLog,
  pushLogDir,
  pushLogEntries,
  removeAbandonedLogTemporaries,
} from './push-log.ts';
import {
  batchLimits,
  leftBatch,
  type PushLogBatch,
  removeBatch,
  writeBatch,
} from './push-log-batch.ts';
import { logTiles } from './push-log-tiles.ts';
import { rawNames } from './raw-names.ts';
import type { RowTiles, TiledRowRuns } from './tiled-push-rows.ts';

export interface PushLogCompaction {
  readonly source: string;
  /** Logs ingested by this run. */
  readonly ingested: number;
  /**
   * Logs removed without ingesting them: an earlier run ingested them and stopped before
   * removing them, or another log of the same push (its push id) was ingested.
   */
  readonly alreadyIngested: number;
  readonly rows: number;
  /** Logs ingest refused, moved to `failed/` beside a `.reason.txt`; later logs went on. */
  readonly failed: readonly { readonly log: string; readonly reason: string }[];
  /** Temporary files of killed log writers removed. */
  readonly temporariesRemoved: number;
}

/**
 * Moves the waiting push logs of each source into the offline store, oldest first, as ingests
 * under ingest's commit rule (one manifest rename; rows get an `fstore_seq` range in log order):
 * up to 1,000 logs per ingest, written first as one batch file (push-log-batch.ts), then records
 * their push ids (ingested-log-ledger.ts) and removes them. What was ingested is known by
 * identity, never by content: each log's name carries its push id, each batch file its batch
 * id, and the commit names the file it ingested. Killed between a commit and the removal, the
 * next run finds that log (or batch) among the committed ingests and only records and removes
 * the logs; a log whose push id the ledger holds (a keyed push run again after its answer was
 * lost) is removed, not ingested; a distinct push with equal rows is ingested again, as online
 * (the later of two tied pushes wins). One process at a time compacts a source's logs (a lock
 * file beside them).
 *
 * A push log's rows were checked one by one when pushed, so the views' per-ingest quality rules
 * (`minRows`, `maxNullPercent`, which judge a batch) do not apply to it, and a column the source
 * gained after the log was written is read as NULL. A log ingest still refuses (a type changed,
 * a constraint tightened, a new join key it lacks) is moved to `failed/<id>.jsonl` with a
 * `<id>.reason.txt`, so later logs of the source are not blocked; `fstore doctor` lists it, and
 * `fstore push --file` of it replays it once the cause is fixed. Other errors (disk full, a lock
 * held too long) leave the log waiting and stop the run.
 */
export async function compactPushLogs(options: {
  registry: Registry;
  dataDir: string;
  env: string;
  sources?: readonly string[];
  signal?: AbortSignal;
  /** How long to wait for another process compacting the same source's logs (default 30 s). */
  lockWaitMs?: number;
}): Promise<PushLogCompaction[]> {
  const { registry, dataDir, env } = options;
  const sources = options.sources ?? registry.sources.map((s) => s.name);
  const results: PushLogCompaction[] = [];
  for (const name of sources) {
    const source = registry.sources.find((s) => s.name === name);
    if (!source || !(await stat(pushLogDir(dataDir, env, name)).catch(() => undefined))) continue;
    const lock = await lockPushLogs(
      dataDir,
      env,
      name,
      options.lockWaitMs ?? 30_000,
      options.signal,
    );
    try {
      const run = new SourceCompaction(registry, dataDir, env, source, options.signal);
      const temporariesRemoved = (await removeAbandonedLogTemporaries(dataDir, env, name)).length;
      await run.finishLeftBatch();
      await run.compactWaiting();
      const { ingested, alreadyIngested, rows, failed } = run;
      if (ingested + alreadyIngested + failed.length + temporariesRemoved > 0)
        results.push({ source: name, ingested, alreadyIngested, rows, failed, temporariesRemoved });
    } finally {
      await lock.release();
    }
  }
  return results;
}

/** The compaction of one source's logs, holding its lock: the counts it reports. */
class SourceCompaction {
  ingested = 0;
  alreadyIngested = 0;
  rows = 0;
  readonly failed: { log: string; reason: string }[] = [];
  /** Push ids the ledger lists, read once per run and kept current by this run. */
  private ingestedPushes: Set<string> | undefined;
  private legacyHashes: Set<string> | undefined;

  constructor(
    private readonly registry: Registry,
    private readonly dataDir: string,
    private readonly env: string,
    private readonly source: RegistrySource,
    private readonly signal: AbortSignal | undefined,
  ) {}

  /** A batch a killed run left: its logs are recorded and removed if it committed; it is dropped. */
  async finishLeftBatch(): Promise<void> {
    const left = await leftBatch(this.dataDir, this.env, this.source.name);
    const committed = await this.committedFiles();
    if (left && (await committed.has(left.file)))
      this.alreadyIngested += await this.settleIngested(left.logs);
    await removeBatch(this.dataDir, this.env, this.source.name);
  }

  /** Waiting logs, oldest first: in batches, and one by one what a batch cannot take. */
  async compactWaiting(): Promise<void> {
    for (;;) {
      this.signal?.throwIfAborted();
      const committed = await this.committedFiles();
      const waiting: string[] = [];
      // A second log of one push (a keyed push run again) waits for the next round, where its
      // push id is found ingested, so it does not land twice in one batch.
      const taken = new Set<string>();
      for (const log of await pendingPushLogs(this.dataDir, this.env, this.source.name)) {
        if (waiting.length >= batchLimits.logs) break;
        const state = await this.state(log, committed);
        if (state === 'ingested') this.alreadyIngested += await this.settleIngested([log]);
        if (state !== 'waiting') continue;
        const pushId = pushIdOfLog(log);
        if (pushId !== undefined && taken.has(pushId)) continue;
        if (pushId !== undefined) taken.add(pushId);
        waiting.push(log);
      }
      if (waiting.length === 0) return;
      const { batch, leftOut } = await writeBatch(this.dataDir, this.env, this.source, waiting);
      const batched = batch ? await this.ingestBatch(batch) : false;
      const oneByOne = batched ? leftOut : waiting;
      for (const log of oneByOne) await this.ingestOne(log);
    }
  }

  private async ingestBatch(batch: PushLogBatch): Promise<boolean> {
    try {
      const result = await this.ingest(batch.file, batch.tiledRows ?? 'every', batch.pushLogs);
      this.ingested += batch.logs.length;
      this.rows += result.rows;
    } catch (error) {
      if (!refusal(error)) throw error; // the batch stays for the next run to settle
      await removeBatch(this.dataDir, this.env, this.source.name);
      return false; // one by one, so a bad log is moved aside alone
    }
    await this.settleIngested(batch.logs);
    await removeBatch(this.dataDir, this.env, this.source.name);
    return true;
  }

  /**
   * After a commit holding `logs` (or on finding one a killed run left): records their push
   * ids in the ledger, so a later log of one of these pushes is found ingested, then removes
   * them. Returns how many were still there.
   */
  private async settleIngested(logs: readonly string[]): Promise<number> {
    const present: string[] = [];
    for (const log of logs) if (await stat(log).catch(() => undefined)) present.push(log);
    const pushIds = present.flatMap((log) => pushIdOfLog(log) ?? []);
    await recordIngestedPushes(this.dataDir, this.env, this.source.name, pushIds);
    for (const pushId of pushIds) this.ingestedPushes?.add(pushId);
    for (const log of present) await rm(log, { force: true });
    return present.length;
  }

  private async ingestOne(log: string): Promise<void> {
    this.signal?.throwIfAborted();
    try {
      const tiles = await logTiles(log, pushLogDir(this.dataDir, this.env, this.source.name));
      const entries = pushLogEntries(log, 0);
      const result = await this.ingest(log, tiles, entries.length === 0 ? undefined : entries);
      this.ingested += 1;
      this.rows += result.rows;
      await this.settleIngested([log]);
    } catch (error) {
      if (!refusal(error)) throw error;
      if (!(await stat(log).catch(() => undefined))) return;
      const { dataDir, env, source } = this;
      const failedCopy = path.join(failedPushLogDir(dataDir, env, source.name), path.basename(log));
      const reason = await refusalReason(source, log, failedCopy, error);
      const moved = await moveAsideFailedLog(dataDir, env, source, log, reason);
      this.failed.push({ log: moved, reason });
    }
  }

  /**
   * A push log's or batch's rows are ingested even when equal to rows ingested before (another
   * push with the same rows): what was ingested is known by push id and file name instead.
   */
  private ingest(
    file: string,
    tiled: TiledRowRuns | RowTiles,
    pushLogs: readonly (readonly [number, string])[] | undefined,
  ) {
    return ingestFile({
      ...tiledRowsOptions(tiled),
      ...(pushLogs === undefined ? {} : { pushLogs }),
      registry: this.registry,
      dataDir: this.dataDir,
      env: this.env,
      source: this.source.name,
      file,
      allowDuplicate: true,
      skipBatchQualityRules: true,
      absentColumnsAsNull: true,
      ...(this.signal ? { signal: this.signal } : {}),
    });
  }

  private committedFiles(): Promise<CommittedFiles> {
    return committedFilesNamed(this.dataDir, this.env, this.source.name);
  }

  /**
   * Whether a log waits, was ingested, or is gone. Ingested: this very log is a committed
   * ingest (a run killed before removing it), or its push id is in the ledger (another log of
   * the same push was ingested). A log without a push id (written before them) is also
   * ingested when its content is in the older ledger of batched logs' hashes.
   */
  private async state(
    log: string,
    committed: CommittedFiles,
  ): Promise<'waiting' | 'ingested' | 'gone'> {
    if (!(await stat(log).catch(() => undefined))) return 'gone';
    if (await committed.has(log)) return 'ingested';
    const pushId = pushIdOfLog(log);
    if (pushId !== undefined) {
      this.ingestedPushes ??= await ingestedPushIds(this.dataDir, this.env, this.source.name);
      return this.ingestedPushes.has(pushId) ? 'ingested' : 'waiting';
    }
    this.legacyHashes ??= await legacyIngestedLogHashes(this.dataDir, this.env, this.source.name);
    if (this.legacyHashes.size === 0) return 'waiting';
    const text = await readFile(log, 'utf8').catch(() => undefined);
    if (text === undefined) return 'gone';
    return this.legacyHashes.has(contentHash(text)) ? 'ingested' : 'waiting';
  }
}

/**
 * Refusals of a log's content (a damaged file included) move it aside; anything else (a full
 * disk, the write lock held too long) may pass, so the log waits for the next run.
 */
function refusal(error: unknown): error is IngestError | InputFileError {
  return error instanceof IngestError || error instanceof InputFileError;
}

/** One compaction per source's logs at a time, across processes (a server and `fstore push`). */
async function lockPushLogs(
  dataDir: string,
  env: string,
  source: string,
  waitMs: number,
  signal: AbortSignal | undefined,
): Promise<{ release(): Promise<void> }> {
  const file = path.join(pushLogDir(dataDir, env, source), '_compact.lock');
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return await acquireProcessLock(file, `the push logs of source "${source}"`);
    } catch (error) {
      if (!(error instanceof LockedError)) throw error;
      if (Date.now() >= deadline)
        throw new LockedError(
          `${error.message}, which is ingesting them, for over ${Math.round(waitMs / 1000)} s`,
          'the logs are stored durably: that process, or the next compaction, ingests them',
        );
      signal?.throwIfAborted();
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/** What `<id>.reason.txt` says: ingest's refusal, the columns the log predates, and the fix. */
async function refusalReason(
  source: RegistrySource,
  log: string,
  failedCopy: string,
  error: IngestError | InputFileError,
): Promise<string> {
  const firstLine = (await readFile(log, 'utf8')).split('\n', 1)[0] ?? '';
  const present = new Set(Object.keys(safeJson(firstLine)));
  const absent = rawNames(source).filter((raw) => !present.has(raw));
  return [
    `push log ${path.basename(log)} of source "${source.name}" was not ingested into the offline store; later push logs of the source went on without it.`,
    error.message,
    ...(absent.length > 0
      ? [
          `The log was written before the source had the column(s) ${absent.map((c) => `"${c}"`).join(', ')}; ingest read them as NULL, and a replay needs them in every row (null where unknown).`,
        ]
      : []),
    'Fix: make the rows fit the source and its views (or change the definitions, then fstore apply), then replay the log:',
    `  fstore push --source ${source.name} --file ${failedCopy} --to offline`,
    'and delete both files.',
  ].join('\n');
}

function safeJson(line: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/**
 * The commit record's tiled rows (lib/push/tiled-push-rows.ts) of a batch's runs, or of one
 * log's rows, all tiled alike. `pushTiledRows` is always written, so a record of pushed rows is
 * never read by the rule for records written before the field.
 */
function tiledRowsOptions(tiled: TiledRowRuns | RowTiles) {
  if (tiled === 'every') return { pushTiledRows: 'all' as const };
  if (Array.isArray(tiled)) {
    const prefixes = tiled as readonly string[];
    return prefixes.length === 0
      ? { pushTiledRows: [] }
      : {
          pushTiledRows: [],
          pushTiledRowsByView: Object.fromEntries(prefixes.map((p) => [p, 'all' as const])),
        };
  }
  const runs = tiled as TiledRowRuns;
  return Object.keys(runs.byView).length === 0
    ? { pushTiledRows: runs.every }
    : { pushTiledRows: runs.every, pushTiledRowsByView: runs.byView };
}
