import { readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { IngestError, ingestFile, wasIngested } from '../offline/ingest.ts';
import { InputFileError } from '../offline/read-input-file.ts';
import { acquireProcessLock, LockedError } from '../process-lock.ts';
import type { Registry, RegistrySource } from '../registry/index.ts';
import { contentHash, ingestedLogHashes, recordIngestedLogs } from './ingested-log-ledger.ts';
import {
  failedPushLogDir,
  moveAsideFailedLog,
  pendingPushLogs,
  pushLogDir,
  removeAbandonedLogTemporaries,
} from './push-log.ts';
import {
  batchLimits,
  leftBatch,
  type PushLogBatch,
  removeBatch,
  writeBatch,
} from './push-log-batch.ts';

export interface PushLogCompaction {
  readonly source: string;
  /** Logs ingested by this run. */
  readonly ingested: number;
  /** Logs an earlier run had already ingested (it stopped before removing them). */
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
 * up to 1,000 logs per ingest, written first as one batch file (push-log-batch.ts), then removes
 * them. Killed between an ingest's commit and the removal, the next run finds the log's (or the
 * batch's) content among the committed ingests and only removes the logs, so no log is ingested
 * twice. One process at a time compacts a source's logs (a lock file beside them).
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

  constructor(
    private readonly registry: Registry,
    private readonly dataDir: string,
    private readonly env: string,
    private readonly source: RegistrySource,
    private readonly signal: AbortSignal | undefined,
  ) {}

  /** A batch a killed run left: its logs are removed if it committed, else it is dropped. */
  async finishLeftBatch(): Promise<void> {
    const left = await leftBatch(this.dataDir, this.env, this.source.name);
    if (
      left &&
      (await logState(this.dataDir, this.env, this.source.name, left.file)) === 'ingested'
    ) {
      const logs = await this.removeBatchedLogs(left.logs);
      this.alreadyIngested += logs;
    }
    await removeBatch(this.dataDir, this.env, this.source.name);
  }

  /** Waiting logs, oldest first: in batches, and one by one what a batch cannot take. */
  async compactWaiting(): Promise<void> {
    for (;;) {
      this.signal?.throwIfAborted();
      const waiting: string[] = [];
      // A retried push (a log with the same content) waits for the next round, where it is
      // found ingested, so it does not land twice in one batch.
      const seen = new Set<string>();
      for (const log of await pendingPushLogs(this.dataDir, this.env, this.source.name)) {
        if (waiting.length >= batchLimits.logs) break;
        const { state, hash } = await this.inspect(log);
        if (state === 'ingested') {
          this.alreadyIngested += 1;
          await rm(log, { force: true });
        }
        if (state !== 'waiting' || seen.has(hash)) continue;
        seen.add(hash);
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
      const result = await this.ingest(batch.file);
      this.ingested += batch.logs.length;
      this.rows += result.rows;
    } catch (error) {
      if (!refusal(error)) throw error; // the batch stays for the next run to settle
      await removeBatch(this.dataDir, this.env, this.source.name);
      return false; // one by one, so a bad log is moved aside alone
    }
    await this.removeBatchedLogs(batch.logs);
    await removeBatch(this.dataDir, this.env, this.source.name);
    return true;
  }

  /**
   * Records the content of a committed batch's logs (so a retried push of one is found
   * ingested), then removes them. Returns how many were still there.
   */
  private async removeBatchedLogs(logs: readonly string[]): Promise<number> {
    const present: { log: string; hash: string }[] = [];
    for (const log of logs) {
      const text = await readFile(log, 'utf8').catch(() => undefined);
      if (text !== undefined) present.push({ log, hash: contentHash(text) });
    }
    const hashes = present.map((p) => p.hash);
    await recordIngestedLogs(this.dataDir, this.env, this.source.name, hashes);
    for (const hash of hashes) this.ingestedInBatches?.add(hash);
    for (const { log } of present) await rm(log, { force: true });
    return present.length;
  }

  private async ingestOne(log: string): Promise<void> {
    this.signal?.throwIfAborted();
    try {
      const result = await this.ingest(log);
      this.ingested += 1;
      this.rows += result.rows;
      await rm(log, { force: true });
    } catch (error) {
      if (!refusal(error)) throw error;
      const after = await this.state(log);
      if (after === 'gone') return;
      if (after === 'ingested') {
        this.alreadyIngested += 1;
        await rm(log, { force: true });
        return;
      }
      const { dataDir, env, source } = this;
      const failedCopy = path.join(failedPushLogDir(dataDir, env, source.name), path.basename(log));
      const reason = await refusalReason(source, log, failedCopy, error);
      const moved = await moveAsideFailedLog(dataDir, env, source, log, reason);
      this.failed.push({ log: moved, reason });
    }
  }

  private ingest(file: string) {
    return ingestFile({
      registry: this.registry,
      dataDir: this.dataDir,
      env: this.env,
      source: this.source.name,
      file,
      skipBatchQualityRules: true,
      absentColumnsAsNull: true,
      ...(this.signal ? { signal: this.signal } : {}),
    });
  }

  private async state(file: string): Promise<'waiting' | 'ingested' | 'gone'> {
    return (await this.inspect(file)).state;
  }

  private ingestedInBatches: Set<string> | undefined;

  /** Whether a log waits, was ingested (alone, or in a batch), or is gone; and its content hash. */
  private async inspect(
    file: string,
  ): Promise<{ state: 'waiting' | 'ingested' | 'gone'; hash: string }> {
    const state = await logState(this.dataDir, this.env, this.source.name, file);
    const text = state === 'gone' ? undefined : await readFile(file, 'utf8').catch(() => undefined);
    if (text === undefined) return { state: 'gone', hash: '' };
    const hash = contentHash(text);
    if (state === 'ingested') return { state, hash };
    this.ingestedInBatches ??= await ingestedLogHashes(this.dataDir, this.env, this.source.name);
    return { state: this.ingestedInBatches.has(hash) ? 'ingested' : 'waiting', hash };
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

async function logState(
  dataDir: string,
  env: string,
  source: string,
  log: string,
): Promise<'waiting' | 'ingested' | 'gone'> {
  try {
    return (await wasIngested(dataDir, env, source, log)) ? 'ingested' : 'waiting';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw error;
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
  const rawFor = new Map(Object.entries(source.fieldMapping).map(([raw, name]) => [name, raw]));
  const absent = source.schema
    .map((c) => rawFor.get(c.name) ?? c.name)
    .filter((raw) => !present.has(raw));
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
