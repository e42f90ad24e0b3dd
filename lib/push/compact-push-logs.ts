import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { IngestError, ingestFile, wasIngested } from '../offline/ingest.ts';
import { InputFileError } from '../offline/read-input-file.ts';
import type { Registry, RegistrySource } from '../registry/index.ts';
import {
  failedPushLogDir,
  moveAsideFailedLog,
  pendingPushLogs,
  removeAbandonedLogTemporaries,
} from './push-log.ts';

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
 * Moves the waiting push logs of each source into the offline store, oldest first, each one an
 * ingest under ingest's commit rule (one manifest rename; its rows get an `fstore_seq` range),
 * then removes it. Killed between an ingest's commit and the removal, the next run finds the
 * log's content among the committed ingests and only removes it, so no log is ingested twice.
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
}): Promise<PushLogCompaction[]> {
  const { registry, dataDir, env } = options;
  const sources = options.sources ?? registry.sources.map((s) => s.name);
  const results: PushLogCompaction[] = [];
  for (const name of sources) {
    const source = registry.sources.find((s) => s.name === name);
    if (!source) continue;
    const temporariesRemoved = (await removeAbandonedLogTemporaries(dataDir, env, name)).length;
    let ingested = 0;
    let alreadyIngested = 0;
    let rows = 0;
    const failed: { log: string; reason: string }[] = [];
    for (const log of await pendingPushLogs(dataDir, env, name)) {
      options.signal?.throwIfAborted();
      const before = await logState(dataDir, env, name, log);
      if (before === 'gone') continue;
      if (before === 'ingested') {
        alreadyIngested += 1;
        await rm(log, { force: true });
        continue;
      }
      try {
        const result = await ingestFile({
          registry,
          dataDir,
          env,
          source: name,
          file: log,
          skipBatchQualityRules: true,
          absentColumnsAsNull: true,
          ...(options.signal ? { signal: options.signal } : {}),
        });
        ingested += 1;
        rows += result.rows;
        await rm(log, { force: true });
      } catch (error) {
        // Refusals of the log's content (a damaged file included) move it aside; anything else
        // (a full disk, the write lock held too long) may pass, so the log waits for the next run.
        if (!(error instanceof IngestError || error instanceof InputFileError)) throw error;
        // Another compaction (a server's and `fstore push`'s) may have taken the log meanwhile.
        const after = await logState(dataDir, env, name, log);
        if (after === 'gone') continue;
        if (after === 'ingested') {
          alreadyIngested += 1;
          await rm(log, { force: true });
          continue;
        }
        const failedCopy = path.join(failedPushLogDir(dataDir, env, name), path.basename(log));
        const reason = await refusalReason(source, log, failedCopy, error);
        const moved = await moveAsideFailedLog(dataDir, env, source, log, reason);
        failed.push({ log: moved, reason });
      }
    }
    if (ingested + alreadyIngested + failed.length + temporariesRemoved > 0)
      results.push({
        source: name,
        ingested,
        alreadyIngested,
        rows,
        failed,
        temporariesRemoved,
      });
  }
  return results;
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
