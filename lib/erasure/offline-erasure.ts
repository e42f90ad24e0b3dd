import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { queryRows } from '../offline/duckdb-session.ts';
import {
  committedFilesOf,
  type ManifestState,
  readManifestState,
} from '../offline/ingest-manifest.ts';
import { offlineRoot } from '../offline/local-layout.ts';
import { type FileRewrite, rewriteCommittedFiles } from '../offline/rewrite-files.ts';
import { runningTotalsDir } from '../offline/running-totals.ts';
import { removeStaleSortedCopies, sortedCopiesDir } from '../offline/sorted-copy.ts';
import type { RegistrySource } from '../registry/index.ts';
import { quoteLiteral } from '../sql/dialect.ts';
import { type ErasureKey, keyColumnsOf, matchPredicate } from './erasure-keys.ts';

/** Rows of the keys in one source's committed files. */
export interface SourceErasure {
  readonly source: string;
  readonly rows: number;
  /** Committed files holding them (rewritten, or to be rewritten by a dry run). */
  readonly files: number;
  /**
   * Files a compaction replaced and still keeps for late readers that hold rows of the keys
   * (deleted at the commit, or to be by a dry run); absent when none. Their rows are copies of
   * rows counted in `rows`.
   */
  readonly replacedFiles?: number;
}

export interface OfflineErasure {
  readonly sources: readonly SourceErasure[];
  /** Sources whose running totals (a cache of their rows) existed and were removed. */
  readonly runningTotalsRemoved: readonly string[];
  readonly leftoversRemoved: number;
  readonly notDeleted: number;
  /** The smallest `fstore_seq` deleted, per source with rows deleted. */
  readonly firstSeqs: ReadonlyMap<string, number>;
}

/** A source to erase from: its name, and where it stores the keys. */
export type ErasureSource = Pick<RegistrySource, 'name' | 'schema' | 'fieldMapping'>;

/** A data file holding rows of the keys. */
export interface FileHoldingKeys {
  readonly file: string;
  readonly rows: number;
  /** The smallest `fstore_seq` among those rows: snapshots pinning it or more held them. */
  readonly firstSeq: number;
  /** The file's rows of the keys, by its own columns. */
  readonly predicate: string;
}

/** The data files among `files` holding rows of `keys` in `source`'s key columns, with how many each holds. */
export async function filesHoldingKeys(
  connection: DuckDBConnection,
  files: readonly string[],
  source: ErasureSource,
  keys: readonly ErasureKey[],
): Promise<FileHoldingKeys[]> {
  if (files.length === 0) return [];
  const columns = keyColumnsOf(source, keys);
  const list = `[${files.map(quoteLiteral).join(', ')}]`;
  // Each file by its own columns: files of older schemas may lack a key column.
  const columnsOf = new Map<string, Set<string>>();
  for (const { file_name: file, columns: names } of await queryRows(
    connection,
    `SELECT file_name, list(name) AS columns FROM parquet_schema(${list}) GROUP BY file_name`,
  ))
    columnsOf.set(String(file), new Set(names as string[]));
  const everyColumn = new Set([...columnsOf.values()].flatMap((c) => [...c]));
  const anyKey = matchPredicate(keys, columns, everyColumn);
  if (anyKey === 'FALSE') return [];
  // One scan of every file (Parquet statistics skip row groups without the values).
  const counted = await queryRows(
    connection,
    `SELECT filename AS file, count(*) AS n, min(fstore_seq) AS first_seq FROM read_parquet(${list}, hive_partitioning = false, union_by_name = true, filename = true) WHERE ${anyKey} GROUP BY filename`,
  );
  const found: FileHoldingKeys[] = [];
  for (const { file, n, first_seq: firstSeq } of counted) {
    const predicate = matchPredicate(keys, columns, columnsOf.get(String(file)) ?? new Set());
    found.push({ file: String(file), rows: Number(n), firstSeq: Number(firstSeq), predicate });
  }
  return found.sort((a, b) => a.file.localeCompare(b.file));
}

/**
 * The files of `source` a compaction replaced and keeps for late readers, still on disk
 * (absolute paths). Readers that listed them before that commit may still open them.
 */
export function keptReplacedFilesOf(
  root: string,
  source: string,
  replaced: ManifestState['replaced'],
): string[] {
  return [
    ...new Set(
      replaced
        .flatMap((entry) => entry.files)
        .filter((file) => file.startsWith(`${source}/`))
        .map((file) => path.join(root, file))
        .filter((file) => existsSync(file)),
    ),
  ].sort();
}

/** What one source holds of the keys: committed files to rewrite, replaced ones to delete. */
async function findInSource(
  connection: DuckDBConnection,
  root: string,
  state: ManifestState,
  source: ErasureSource,
  keys: readonly ErasureKey[],
): Promise<{ committed: FileHoldingKeys[]; replaced: FileHoldingKeys[]; counts: SourceErasure }> {
  const committed = await filesHoldingKeys(
    connection,
    committedFilesOf(root, source.name, state.records),
    source,
    keys,
  );
  const replaced = await filesHoldingKeys(
    connection,
    keptReplacedFilesOf(root, source.name, state.replaced),
    source,
    keys,
  );
  return {
    committed,
    replaced,
    counts: {
      source: source.name,
      rows: committed.reduce((n, f) => n + f.rows, 0),
      files: committed.length,
      ...(replaced.length > 0 ? { replacedFiles: replaced.length } : {}),
    },
  };
}

/** The smallest `fstore_seq` of the rows found, per source that has some. */
export function firstSeqs(
  found: ReadonlyMap<string, readonly FileHoldingKeys[]>,
): Map<string, number> {
  const seqs = new Map<string, number>();
  for (const [source, files] of found)
    for (const { firstSeq } of files)
      if (Number.isFinite(firstSeq))
        seqs.set(source, Math.min(seqs.get(source) ?? firstSeq, firstSeq));
  return seqs;
}

/** How many rows of `keys` each source holds; changes nothing. */
export async function countOfflineRows(
  connection: DuckDBConnection,
  dataDir: string,
  env: string,
  sources: readonly ErasureSource[],
  keys: readonly ErasureKey[],
): Promise<{ sources: SourceErasure[]; firstSeqs: Map<string, number> }> {
  const root = offlineRoot(dataDir, env);
  const state = (await readManifestState(root)) ?? { records: [], replaced: [] };
  const result: SourceErasure[] = [];
  const found = new Map<string, FileHoldingKeys[]>();
  for (const source of sources) {
    const { committed, counts } = await findInSource(connection, root, state, source, keys);
    found.set(source.name, committed);
    result.push(counts);
  }
  return { sources: result, firstSeqs: firstSeqs(found) };
}

/**
 * Removes every row of `keys` from the committed files of `sources` (rewriteCommittedFiles: one
 * commit under the ingest lock, old files deleted after it) and the running totals of those
 * sources, which are built from their rows: before the commit (so a crash after it leaves no
 * totals holding the rows) and after it (a training set may have built them meanwhile from the
 * old files; readers take no lock). The totals are built again by the next training set that
 * needs them. Files a compaction replaced and keeps for late readers that hold the keys are
 * found under the same lock and deleted at the same commit: no new reader opens them, and
 * erasure goes before a late reader (which then fails on a missing file rather than read them).
 * Sorted copies go with the totals: all of a source holding the keys, and of the other sources
 * every copy of files no longer committed (removeStaleSortedCopies), which may still hold them.
 */
export async function eraseOfflineRows(
  connection: DuckDBConnection,
  dataDir: string,
  env: string,
  sources: readonly ErasureSource[],
  keys: readonly ErasureKey[],
  signal?: AbortSignal,
): Promise<OfflineErasure> {
  const root = offlineRoot(dataDir, env);
  const counts = new Map<string, SourceErasure>();
  const found = new Map<string, FileHoldingKeys[]>();
  const touched = new Set<string>();
  const removed = new Set<string>();
  const removeTotals = async () => {
    for (const source of touched) {
      const dir = runningTotalsDir(root, source);
      if (existsSync(dir)) removed.add(source);
      await rm(dir, { recursive: true, force: true });
      // A sorted copy holds the rows themselves; the next ingest or compaction writes it anew.
      await rm(sortedCopiesDir(root, source), { recursive: true, force: true });
    }
    // A copy of files no longer committed (one kept for late readers, or left by a retention
    // stopped before it removed it) may hold the keys' rows when no committed file does.
    for (const { name } of sources)
      if (!touched.has(name)) await removeStaleSortedCopies(connection, root, name);
  };
  const result = await rewriteCommittedFiles({
    connection,
    dataDir,
    env,
    faultPrefix: 'delete',
    pauseBeforeCommit: 'delete:before-commit',
    ...(signal ? { signal } : {}),
    plan: async (state) => {
      const rewrites: FileRewrite[] = [];
      const deleteReplaced: string[] = [];
      for (const source of sources) {
        const held = await findInSource(connection, root, state, source, keys);
        found.set(source.name, held.committed);
        counts.set(source.name, held.counts);
        if (held.committed.length > 0) touched.add(source.name);
        for (const file of held.committed)
          rewrites.push({
            source: source.name,
            file: file.file,
            keep: `(${file.predicate}) IS NOT TRUE`,
            expectedRemoved: file.rows,
          });
        deleteReplaced.push(...held.replaced.map((f) => f.file));
      }
      return { rewrites, deleteReplaced };
    },
    beforeCommit: removeTotals,
  });
  await removeTotals();
  return {
    sources: sources.map(({ name }) => counts.get(name) ?? { source: name, rows: 0, files: 0 }),
    runningTotalsRemoved: [...removed].sort(),
    leftoversRemoved: result.leftoversRemoved,
    notDeleted: result.notDeleted,
    firstSeqs: firstSeqs(found),
  };
}
