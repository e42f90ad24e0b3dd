import { statSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { faultPoint, pauseAt } from '../fault-injection.ts';
import { firstLine, HintedError } from '../hinted-error.ts';
import type { Registry } from '../registry/index.ts';
import { quoteLiteral } from '../sql/dialect.ts';
import { duckdbDialect } from '../sql/duckdb-dialect.ts';
import { type MergeGroup, planCompaction } from './compact-plan.ts';
import { type Merge, recordsAfterMerges } from './compact-records.ts';
import {
  defaultKeepReplacedMs,
  removeExpiredReplacedFiles,
  replacedFilesEntry,
} from './compact-replaced.ts';
import { refuseRowCountChange } from './compact-row-count.ts';
import { openDuckdb } from './duckdb-session.ts';
import { removeLeftoversWhileLocked } from './ingest-leftovers.ts';
import {
  committedFilesOf,
  type IngestRecord,
  newDataFilesId,
  presentCommittedSourceFiles,
  readManifest,
  readManifestState,
  replaceManifest,
  sourceDataFiles,
  syncFile,
  syncFolder,
} from './ingest-manifest.ts';
import { LocalIngestTarget } from './ingest-target.ts';
import { offlineRoot, stagingDir } from './local-layout.ts';
import { defaultTargetFileBytes, writeSizedFiles } from './parquet-layout.ts';
import { refreshRunningTotals, type TotalsRefresh } from './running-totals.ts';
import { refreshSortedCopy } from './sorted-copy.ts';

export class CompactError extends HintedError {}

export interface CompactOptions {
  readonly registry: Registry;
  readonly dataDir: string;
  readonly env: string;
  /** One source; default every source of the registry. */
  readonly source?: string;
  /** Size merged files aim for (bytes); default 128 MiB, as ingest. */
  readonly targetFileBytes?: number;
  /**
   * How long the replaced files stay after the commit, for reads that listed them before it
   * (default defaultKeepReplacedMs; 0 deletes them right after the commit). The next compaction,
   * ingest or `fstore doctor --fix` after that time deletes them.
   */
  readonly keepReplacedMs?: number;
  /** Plan only: what would be merged, nothing written. */
  readonly dryRun?: boolean;
  /** Called once the merges are planned, then after each one. */
  readonly onProgress?: (done: number, total: number) => void;
  /** A stop request: honoured up to the commit point, which it never splits. */
  readonly signal?: AbortSignal;
}

export interface SourceCompaction {
  readonly source: string;
  /** Partitions with files merged. */
  readonly partitions: number;
  readonly filesBefore: number;
  /** After the merges; for a dry run, at most this many (merged files are often smaller). */
  readonly filesAfter: number;
  /** Bytes of the files merged, and of the files they became (dry run: the same). */
  readonly bytesMerged: number;
  readonly bytesWritten: number;
  /** Running totals rebuilt in full (the stored files changed); empty for a dry run. */
  readonly runningTotals: readonly TotalsRefresh[];
}

export interface CompactResult {
  /** Id of the merged files (`<id>-<n>.parquet`); absent when nothing was merged. */
  readonly compactionId?: string;
  /** Until when the replaced files are kept (ISO time); absent when none are kept. */
  readonly replacedKeptUntil?: string;
  readonly dryRun: boolean;
  readonly targetFileBytes: number;
  /**
   * Leftovers of killed ingests and compactions removed first (as `fstore doctor --fix` does),
   * e.g. the replaced files of a compaction killed after its commit.
   */
  readonly leftoversRemoved: number;
  readonly sources: readonly SourceCompaction[];
  /** Things that went wrong after the commit (the merge itself stands). */
  readonly warnings: readonly string[];
  /** Sources whose sorted copy (sorted-copy.ts) was written; absent for a dry run. */
  readonly sortedCopies?: readonly string[];
}

/**
 * Merges the small files earlier ingests left in each `dt` partition of the local offline
 * store into files of about the target size, under ingest's commit rule (ADR 0008,
 * "Compaction"): while holding the store's write lock, the merged files are written under a new
 * id where no reader reads them, then ONE manifest replacement makes them the files of the
 * ingests whose files they replace. The replaced files stay, named in the manifest, for
 * `keepReplacedMs` (reads that listed them before the commit still find them); the first
 * compaction, ingest or `doctor --fix` after that deletes them. Rows keep
 * their `fstore_seq`, so every point-in-time winner stays the same. A crash before the commit
 * leaves the old files read and the new ones as leftovers; after it, the new files read and the
 * old ones kept as above (`fstore doctor --fix` removes leftovers, so does the next compaction).
 */
export async function compactStore(options: CompactOptions): Promise<CompactResult> {
  const sources = selectedSources(options.registry, options.source);
  const root = offlineRoot(options.dataDir, options.env);
  const targetFileBytes = options.targetFileBytes ?? defaultTargetFileBytes;
  const empty = {
    dryRun: options.dryRun === true,
    targetFileBytes,
    leftoversRemoved: 0,
    warnings: [],
  };
  const records = await readManifest(root);
  if (!records) {
    const placed = sources.filter((s) => sourceDataFiles(root, s).length > 0);
    if (placed.length === 0) return { ...empty, sources: [] };
    throw new CompactError(
      `the offline store ${root} has data files of ${placed.map((s) => `"${s}"`).join(', ')} but no ingest manifest (_ingests.jsonl): they were not written by fstore ingest, so there is no commit point to compact them under`,
      'ingest the rows with fstore ingest, which writes the manifest, then compact',
    );
  }
  const session = await openDuckdb();
  try {
    if (options.dryRun) {
      const planned = await planAll(session.connection, root, sources, records, targetFileBytes);
      options.onProgress?.(0, planned.length);
      return { ...empty, sources: summarize(root, targetFileBytes, sources, records, planned, []) };
    }
    const compacted = await compactLocked(
      session.connection,
      options,
      root,
      sources,
      targetFileBytes,
    );
    // Merged files are new files, so a copy that held the old ones is written again; one
    // missing or behind its source (after an erasure or many ingests) is written too.
    const warnings = [...compacted.warnings];
    const sortedCopies: string[] = [];
    for (const source of sources) {
      if (options.signal?.aborted) break;
      const refreshed = await refreshSortedCopy(
        session.connection,
        root,
        options.registry,
        source,
        {
          ...(options.signal ? { signal: options.signal } : {}),
        },
      ).catch((error: unknown) => {
        warnings.push(
          `the sorted copy of "${source}" was not written (${firstLine(error)}); training sets read its files instead`,
        );
        return undefined;
      });
      if (refreshed?.written) sortedCopies.push(source);
    }
    return { ...compacted, sortedCopies, warnings };
  } finally {
    session.close();
  }
}

async function compactLocked(
  connection: DuckDBConnection,
  options: CompactOptions,
  root: string,
  sources: readonly string[],
  targetFileBytes: number,
): Promise<CompactResult> {
  const writing = await new LocalIngestTarget(options.dataDir, options.env).beginWrite();
  const compactionId = newDataFilesId();
  const staging = stagingDir(options.dataDir, options.env, compactionId);
  const published: string[] = [];
  let committed = false;
  let records: IngestRecord[];
  let replacedKeptUntil: string | undefined;
  let planned: MergeGroup[];
  let merges: Merge[] = [];
  let leftoversRemoved = 0;
  const warnings: string[] = [];
  try {
    // What earlier killed ingests or compactions left would otherwise be merged around forever.
    leftoversRemoved = (await removeLeftoversWhileLocked(root)).length;
    // Read under the lock: no ingest commits while we merge, so this manifest stays the last.
    const state = (await readManifestState(root)) ?? { records: [], replaced: [] };
    records = state.records;
    for (const source of sources) presentCommittedSourceFiles(root, source);
    planned = await planAll(connection, root, sources, records, targetFileBytes);
    options.onProgress?.(0, planned.length);
    if (planned.length === 0)
      return {
        dryRun: false,
        targetFileBytes,
        leftoversRemoved,
        sources: summarize(root, targetFileBytes, sources, records, [], []),
        warnings: [],
      };
    await mkdir(staging, { recursive: true });
    await writeFile(
      path.join(staging, 'owner.json'),
      `${JSON.stringify({ pid: process.pid, compactionId, kind: 'compaction' })}\n`,
    );
    const numbers = new Map<string, number>();
    for (const [index, group] of planned.entries()) {
      options.signal?.throwIfAborted();
      const written = await writeSizedFiles(connection, {
        select: `SELECT * FROM read_parquet([${group.files.map(quoteLiteral).join(', ')}], hive_partitioning = false)`,
        orderBy: 'fstore_seq',
        dir: path.join(staging, 'data', group.source, group.partition, `merge-${index}`),
        id: compactionId,
        targetBytes: targetFileBytes,
      });
      await refuseRowCountChange(connection, group, written);
      const folder = path.join(root, group.source, group.partition);
      const merged: string[] = [];
      for (const file of written) {
        await syncFile(file);
        const key = `${group.source}/${group.partition}`;
        const n = numbers.get(key) ?? 0;
        numbers.set(key, n + 1);
        const destination = path.join(folder, `${compactionId}-${n}.parquet`);
        await rename(file, destination);
        published.push(destination);
        merged.push(destination);
      }
      await syncFolder(folder);
      merges.push({ source: group.source, replaced: group.files, merged });
      options.onProgress?.(index + 1, planned.length);
    }
    faultPoint('compact:after-publish');
    await pauseAt('compact:before-commit', options.signal);
    options.signal?.throwIfAborted();
    const keepMs = options.keepReplacedMs ?? defaultKeepReplacedMs;
    const replaced = replacedFilesEntry(
      root,
      compactionId,
      merges.flatMap((m) => m.replaced),
      keepMs,
    );
    await replaceManifest(
      root,
      {
        records: recordsAfterMerges(root, records, merges),
        replaced: [...state.replaced, replaced],
      },
      compactionId,
      () => faultPoint('compact:before-commit'),
    );
    committed = true;
    faultPoint('compact:after-commit');
    if (keepMs > 0) replacedKeptUntil = replaced.keepUntil;
    const { notDeleted } = await removeExpiredReplacedFiles(root, compactionId);
    if (notDeleted > 0)
      warnings.push(
        `${notDeleted} replaced file(s) could not be deleted; no reader reads them, and fstore doctor --fix (or the next compact) removes them`,
      );
  } catch (error) {
    if (!committed) {
      await Promise.all(published.map((file) => rm(file, { force: true }).catch(() => undefined)));
      merges = [];
    }
    throw error;
  } finally {
    await rm(staging, { recursive: true, force: true });
    await writing.release();
  }

  const totals = new Map<string, readonly TotalsRefresh[]>();
  for (const source of new Set(merges.map((m) => m.source))) {
    // Their covered files are gone, so the totals build in full; better now than in a request.
    const refreshed = await refreshRunningTotals(
      connection,
      root,
      duckdbDialect(root),
      options.registry,
      source,
    ).catch((error: unknown) => {
      warnings.push(
        `running totals of "${source}" were not rebuilt (${firstLine(error)}); the next training set that needs them builds them`,
      );
      return [];
    });
    totals.set(source, refreshed);
  }
  return {
    compactionId,
    ...(replacedKeptUntil ? { replacedKeptUntil } : {}),
    dryRun: false,
    targetFileBytes,
    leftoversRemoved,
    sources: summarize(root, targetFileBytes, sources, records, planned, merges, totals),
    warnings,
  };
}

/** The sources a compaction covers: `source` if named (and known), else every source. */
export function selectedSources(registry: Registry, source: string | undefined): string[] {
  const known = registry.sources.map((s) => s.name);
  if (source === undefined) return known;
  if (!known.includes(source))
    throw new CompactError(
      `no source "${source}" in the registry`,
      `known sources: ${known.join(', ')}`,
    );
  return [source];
}

async function planAll(
  connection: DuckDBConnection,
  root: string,
  sources: readonly string[],
  records: readonly IngestRecord[],
  targetFileBytes: number,
): Promise<MergeGroup[]> {
  const groups: MergeGroup[] = [];
  for (const source of sources)
    groups.push(...(await planCompaction(connection, root, source, records, targetFileBytes)));
  return groups;
}

function summarize(
  root: string,
  targetFileBytes: number,
  sources: readonly string[],
  records: readonly IngestRecord[],
  planned: readonly MergeGroup[],
  merges: readonly Merge[],
  totals: ReadonlyMap<string, readonly TotalsRefresh[]> = new Map(),
): SourceCompaction[] {
  return sources.map((source) => {
    const filesBefore = committedFilesOf(root, source, records).length;
    const groups = planned.filter((g) => g.source === source);
    const done = merges.filter((m) => m.source === source);
    const replaced = groups.reduce((n, g) => n + g.files.length, 0);
    const bytesMerged = groups.reduce((n, g) => n + g.bytes, 0);
    const dryRun = done.length === 0;
    const written = dryRun
      ? groups.reduce((n, g) => n + Math.max(1, Math.ceil(g.bytes / targetFileBytes)), 0)
      : done.reduce((n, m) => n + m.merged.length, 0);
    return {
      source,
      partitions: new Set(groups.map((g) => g.partition)).size,
      filesBefore,
      filesAfter: filesBefore - replaced + written,
      bytesMerged,
      bytesWritten: dryRun
        ? bytesMerged
        : done.flatMap((m) => m.merged).reduce((n, file) => n + statSync(file).size, 0),
      runningTotals: totals.get(source) ?? [],
    };
  });
}
