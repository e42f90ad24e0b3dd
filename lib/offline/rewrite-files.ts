import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { faultPoint, type PausePoint, pauseAt } from '../fault-injection.ts';
import { quoteLiteral } from '../sql/dialect.ts';
import { type Merge, recordsAfterMerges } from './compact-records.ts';
import { removeExpiredReplacedFiles, replacedFilesEntry } from './compact-replaced.ts';
import { queryRows } from './duckdb-session.ts';
import { removeLeftoversWhileLocked } from './ingest-leftovers.ts';
import {
  type ManifestState,
  newDataFilesId,
  type ReplacedFiles,
  readManifestState,
  replaceManifest,
  syncFile,
  syncFolder,
} from './ingest-manifest.ts';
import { LocalIngestTarget } from './ingest-target.ts';
import { offlineRoot, stagingDir } from './local-layout.ts';
import { defaultTargetFileBytes, writeSizedFiles } from './parquet-layout.ts';

/** One committed data file to write again without some of its rows. */
export interface FileRewrite {
  readonly source: string;
  /** Absolute path of a committed data file. */
  readonly file: string;
  /** DuckDB predicate over the file's columns: the rows to KEEP (NULL counts as not kept). */
  readonly keep: string;
  /** Rows the rewrite must drop; a different count stops before the commit, changing nothing. */
  readonly expectedRemoved?: number;
}

/** What to change at one commit: files to rewrite, and kept replaced files to delete. */
export interface RewritePlan {
  readonly rewrites: readonly FileRewrite[];
  /**
   * Files a compaction replaced and keeps for late readers (absolute paths), to delete at this
   * commit instead of when their time is up: they hold rows the caller removes.
   */
  readonly deleteReplaced?: readonly string[];
}

export interface RewriteResult {
  /** Id of the written files (`<id>-<n>.parquet`); absent when nothing was rewritten. */
  readonly rewriteId?: string;
  readonly rewrites: readonly {
    readonly source: string;
    readonly file: string;
    readonly rowsBefore: number;
    readonly rowsAfter: number;
    readonly written: readonly string[];
  }[];
  /** Leftovers of killed ingests, compactions and rewrites removed first. */
  readonly leftoversRemoved: number;
  /** Replaced files that could not be deleted after the commit (doctor --fix removes them). */
  readonly notDeleted: number;
}

/**
 * Rewrites committed data files of the local offline store without some of their rows, under
 * ingest's commit rule, as compaction does (compact.ts): holding the store's write lock, it
 * removes leftovers of killed runs, asks `plan` (given the manifest read under the lock) which
 * files to rewrite, writes each file's kept rows (ordered by `fstore_seq`, which they keep) under
 * a new id next to it where no reader reads them, then ONE manifest replacement makes the new
 * files the files of the ingests that named the old ones; the old files are deleted right after
 * (nothing is kept for late readers: erasure removes rows on purpose), unless `keepReplacedMs`
 * keeps them for readers that listed them before the commit (retention, as compaction does;
 * the next write after that time, or `fstore doctor --fix`, deletes them). A file left with no
 * rows is dropped from its ingest's record; the record keeps its row count and `fstore_seq`
 * range, so sequence numbers are never handed out again.
 *
 * A crash before the commit leaves the old files read and the new ones as leftovers; after it,
 * the new files read and the old ones as superseded leftovers. The next ingest, compaction,
 * rewrite or `fstore doctor --fix` removes either. Fault points: `<faultPrefix>:after-rewrite`
 * (new files in place, not committed), `<faultPrefix>:before-commit` (the temporary manifest
 * written, not renamed), `<faultPrefix>:after-commit` (old files not yet deleted).
 *
 * Used by entity deletion (lib/erasure); retention can rewrite a boundary partition with it.
 */
export async function rewriteCommittedFiles(options: {
  readonly connection: DuckDBConnection;
  readonly dataDir: string;
  readonly env: string;
  readonly plan: (state: ManifestState) => Promise<readonly FileRewrite[] | RewritePlan>;
  readonly faultPrefix: string;
  /** A test hook: where to pause (FSTORE_PAUSE_AT) with the new files in place, before the commit. */
  readonly pauseBeforeCommit?: PausePoint;
  /** Called under the lock once the new files are in place, before the commit. */
  readonly beforeCommit?: (rewrites: readonly FileRewrite[]) => Promise<void>;
  /**
   * How long to keep the rewritten files after the commit for readers that listed them before
   * it (readers take no lock); default 0, deleted at once. `deleteReplaced` files go at once.
   */
  readonly keepReplacedMs?: number;
  readonly signal?: AbortSignal;
}): Promise<RewriteResult> {
  const { connection, dataDir, env, faultPrefix } = options;
  const root = offlineRoot(dataDir, env);
  const writing = await new LocalIngestTarget(dataDir, env).beginWrite();
  const rewriteId = newDataFilesId();
  const staging = stagingDir(dataDir, env, rewriteId);
  const published: string[] = [];
  let committed = false;
  try {
    const leftoversRemoved = (await removeLeftoversWhileLocked(root)).length;
    const state = (await readManifestState(root)) ?? { records: [], replaced: [] };
    const planned = await options.plan(state);
    const { rewrites, deleteReplaced = [] } = Array.isArray(planned)
      ? { rewrites: planned as readonly FileRewrite[] }
      : (planned as RewritePlan);
    if (rewrites.length === 0 && deleteReplaced.length === 0)
      return { rewrites: [], leftoversRemoved, notDeleted: 0 };
    await mkdir(staging, { recursive: true });
    await writeFile(
      path.join(staging, 'owner.json'),
      `${JSON.stringify({ pid: process.pid, rewriteId, kind: 'rewrite' })}\n`,
    );
    const merges: Merge[] = [];
    const done: RewriteResult['rewrites'][number][] = [];
    const numbers = new Map<string, number>();
    for (const [index, rewrite] of rewrites.entries()) {
      options.signal?.throwIfAborted();
      const written = await rewriteOne(connection, rewrite, path.join(staging, `file-${index}`), {
        rewriteId,
      });
      const folder = path.dirname(rewrite.file);
      const placed: string[] = [];
      for (const file of written.files) {
        await syncFile(file);
        const n = numbers.get(folder) ?? 0;
        numbers.set(folder, n + 1);
        const destination = path.join(folder, `${rewriteId}-${n}.parquet`);
        await rename(file, destination);
        published.push(destination);
        placed.push(destination);
      }
      await syncFolder(folder);
      merges.push({ source: rewrite.source, replaced: [rewrite.file], merged: placed });
      done.push({
        source: rewrite.source,
        file: rewrite.file,
        rowsBefore: written.before,
        rowsAfter: written.after,
        written: placed,
      });
    }
    faultPoint(`${faultPrefix}:after-rewrite`);
    if (options.pauseBeforeCommit) await pauseAt(options.pauseBeforeCommit, options.signal);
    options.signal?.throwIfAborted();
    await options.beforeCommit?.(rewrites);
    options.signal?.throwIfAborted();
    // Files deleted now leave the entries that kept them for later, into this commit's own,
    // which keeps nothing: a crash after the commit leaves them to the next writer to delete.
    const keepMs = options.keepReplacedMs ?? 0;
    const rewritten = merges.flatMap((m) => m.replaced);
    const replaced = replacedFilesEntry(
      root,
      rewriteId,
      [...(keepMs > 0 ? [] : rewritten), ...deleteReplaced],
      0,
    );
    const kept =
      keepMs > 0 && rewritten.length > 0
        ? [replacedFilesEntry(root, rewriteId, rewritten, keepMs)]
        : [];
    await replaceManifest(
      root,
      {
        records: recordsAfterMerges(root, state.records, merges),
        replaced: [
          ...withoutFiles(state.replaced, new Set(replaced.files)),
          ...kept,
          ...(replaced.files.length > 0 ? [replaced] : []),
        ],
      },
      rewriteId,
      () => faultPoint(`${faultPrefix}:before-commit`),
    );
    committed = true;
    faultPoint(`${faultPrefix}:after-commit`);
    const { notDeleted } = await removeExpiredReplacedFiles(root, rewriteId);
    return { rewriteId, rewrites: done, leftoversRemoved, notDeleted };
  } catch (error) {
    if (!committed)
      await Promise.all(published.map((file) => rm(file, { force: true }).catch(() => undefined)));
    throw error;
  } finally {
    await rm(staging, { recursive: true, force: true });
    await writing.release();
  }
}

/** The kept-files entries without `files` (relative paths); entries left with none are dropped. */
function withoutFiles(
  entries: readonly ReplacedFiles[],
  files: ReadonlySet<string>,
): ReplacedFiles[] {
  return entries
    .map((entry) => ({ ...entry, files: entry.files.filter((file) => !files.has(file)) }))
    .filter((entry) => entry.files.length > 0);
}

/** Writes the kept rows of one file into `dir`; no file at all when no row is kept. */
async function rewriteOne(
  connection: DuckDBConnection,
  rewrite: FileRewrite,
  dir: string,
  ids: { rewriteId: string },
): Promise<{ files: string[]; before: number; after: number }> {
  const source = `read_parquet(${quoteLiteral(rewrite.file)}, hive_partitioning = false)`;
  const [counted] = await queryRows(
    connection,
    `SELECT count(*) AS before, count(*) FILTER (WHERE (${rewrite.keep}) IS TRUE) AS after FROM ${source}`,
  );
  const before = Number(counted?.before ?? 0);
  const after = Number(counted?.after ?? 0);
  if (rewrite.expectedRemoved !== undefined && before - after !== rewrite.expectedRemoved)
    throw new Error(
      `internal: rewriting ${rewrite.file} would remove ${before - after} rows, not the ${rewrite.expectedRemoved} planned; nothing was committed`,
    );
  if (after === 0) return { files: [], before, after };
  const files = await writeSizedFiles(connection, {
    select: `SELECT * FROM ${source} WHERE (${rewrite.keep}) IS TRUE`,
    orderBy: 'fstore_seq',
    dir,
    id: ids.rewriteId,
    targetBytes: defaultTargetFileBytes,
  });
  const [written] = await queryRows(
    connection,
    `SELECT sum(num_rows) AS n FROM parquet_file_metadata([${files.map(quoteLiteral).join(', ')}])`,
  );
  if (Number(written?.n ?? 0) !== after)
    throw new Error(
      `internal: rewriting ${rewrite.file} wrote ${Number(written?.n ?? 0)} rows, not ${after}; nothing was committed`,
    );
  return { files, before, after };
}
