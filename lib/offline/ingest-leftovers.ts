import { readdir, readFile, rm, rmdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { acquireProcessLock, isRunning } from '../process-lock.ts';
import { forgetExpiredReplacedFiles, withoutExpired } from './compact-replaced.ts';
import {
  committedFilesOf,
  ingestIdOfFile,
  isManifestTemporary,
  readManifestState,
  sourceDataFiles,
} from './ingest-manifest.ts';
import { parseRunningTotalsTemporary } from './running-totals.ts';

/**
 * Something an interrupted ingest or compaction (or a killed running-totals build) left in the
 * local offline store; no reader reads it. A superseded data file is one a compaction merged
 * and committed whose keeping time is up (or which a killed compaction left unnamed); replaced
 * files still inside their keeping time (the manifest names them) are not leftovers.
 */
export interface IngestLeftover {
  readonly kind:
    | 'staging folder'
    | 'uncommitted data file'
    | 'superseded data file'
    | 'temporary manifest'
    | 'running-totals temporary'
    | 'sorted-copy temporary';
  readonly path: string;
  readonly bytes: number;
  readonly ingestId?: string;
}

export interface LeftoverScan {
  readonly leftovers: readonly IngestLeftover[];
  /**
   * Ingests and compactions whose process still runs: their staging and files are not
   * leftovers (nor, while a compaction runs, the files it is about to delete).
   */
  readonly running: readonly { ingestId: string; pid: number; kind?: 'compaction' }[];
}

/**
 * A running-totals temporary whose name records no owner (older fstore) is a leftover once it
 * has not been written to for this long; one that records its owner is a leftover as soon as
 * that process is gone.
 */
export const unownedTemporaryAgeMs = 60 * 60_000;

/**
 * Finds what ingests killed before their commit left in `offlineRoot`: staging folders whose
 * owner process is gone, data files of ingests the manifest does not name, and temporary
 * manifests; and the temporaries of running-totals builds killed before their rename
 * (`_running_totals/<source>/*.partial`, see runningTotalsLeftovers). Files not named like an
 * ingest's data file are never counted (nor removed), and a store without a manifest
 * (everything there is read) has no uncommitted data files.
 */
export async function findIngestLeftovers(
  offlineRoot: string,
  now: number = Date.now(),
): Promise<LeftoverScan> {
  const leftovers: IngestLeftover[] = [];
  const running: { ingestId: string; pid: number; kind?: 'compaction' }[] = [];
  const stagingRoot = path.join(offlineRoot, '_staging');
  for (const entry of await list(stagingRoot)) {
    if (!entry.isDirectory()) continue;
    const folder = path.join(stagingRoot, entry.name);
    const { pid, kind } = await owner(folder);
    if (pid !== undefined && pid !== process.pid && isRunning(pid))
      running.push({ ingestId: entry.name, pid, ...(kind === 'compaction' ? { kind } : {}) });
    else
      leftovers.push({
        kind: 'staging folder',
        path: folder,
        bytes: await sizeOf(folder),
        ingestId: entry.name,
      });
  }

  const state = await readManifestState(offlineRoot);
  if (state) {
    const { records } = state;
    const { kept, expired } = withoutExpired(state, now);
    const relative = (file: string) => path.relative(offlineRoot, file).split(path.sep).join('/');
    const keptReplaced = new Set(kept.replaced.flatMap((e) => e.files));
    const expiredReplaced = new Set(expired.flatMap((e) => e.files));
    // Records naming no files (written before the commit rule) own every file carrying their id.
    const legacyIds = new Set(records.filter((r) => !r.files).map((r) => r.ingestId));
    const committedIds = new Set(records.map((r) => r.ingestId));
    const runningIds = new Set(running.map((r) => r.ingestId));
    const compacting = running.some((r) => r.kind === 'compaction');
    for (const source of await list(offlineRoot)) {
      if (!source.isDirectory() || source.name.startsWith('_')) continue;
      const committed = new Set(committedFilesOf(offlineRoot, source.name, records));
      for (const { folder, name } of sourceDataFiles(offlineRoot, source.name)) {
        const file = path.join(folder, name);
        const ingestId = ingestIdOfFile(name);
        if (!ingestId || committed.has(file) || legacyIds.has(ingestId)) continue;
        if (runningIds.has(ingestId)) continue;
        if (keptReplaced.has(relative(file))) continue;
        // A committed ingest's file its record no longer names: a compaction replaced it.
        const superseded = committedIds.has(ingestId) || expiredReplaced.has(relative(file));
        if (superseded && compacting) continue;
        leftovers.push({
          kind: superseded ? 'superseded data file' : 'uncommitted data file',
          path: file,
          bytes: await sizeOf(file),
          ingestId,
        });
      }
    }
  }

  for (const entry of await list(offlineRoot)) {
    if (entry.isFile() && isManifestTemporary(entry.name)) {
      const file = path.join(offlineRoot, entry.name);
      leftovers.push({ kind: 'temporary manifest', path: file, bytes: await sizeOf(file) });
    }
  }
  leftovers.push(...(await runningTotalsLeftovers(offlineRoot, now)));
  return { leftovers, running };
}

/**
 * Builds take no lock, so a temporary is a leftover only when no build can still be writing
 * it: its owner pid (in the name) is not running, or, for names without a pid, it was last
 * written more than `unownedTemporaryAgeMs` ago. This process's own temporaries never are.
 */
async function runningTotalsLeftovers(offlineRoot: string, now: number): Promise<IngestLeftover[]> {
  return [
    ...(await cacheTemporaries(offlineRoot, '_running_totals', 'running-totals temporary', now)),
    // Sorted copies (sorted-copy.ts) are written by the same rule and named the same way.
    ...(await cacheTemporaries(offlineRoot, '_sorted_copies', 'sorted-copy temporary', now)),
  ];
}

async function cacheTemporaries(
  offlineRoot: string,
  folder: string,
  kind: 'running-totals temporary' | 'sorted-copy temporary',
  now: number,
): Promise<IngestLeftover[]> {
  const found: IngestLeftover[] = [];
  const root = path.join(offlineRoot, folder);
  for (const source of await list(root)) {
    if (!source.isDirectory()) continue;
    for (const entry of await list(path.join(root, source.name))) {
      const temporary = entry.isFile() ? parseRunningTotalsTemporary(entry.name) : undefined;
      if (!temporary) continue;
      const file = path.join(root, source.name, entry.name);
      const info = await stat(file).catch(() => undefined);
      if (!info) continue;
      const abandoned =
        temporary.pid === undefined
          ? now - info.mtimeMs > unownedTemporaryAgeMs
          : temporary.pid !== process.pid && !isRunning(temporary.pid);
      if (abandoned) found.push({ kind, path: file, bytes: info.size });
    }
  }
  return found;
}

/**
 * Removes the leftovers of interrupted ingests while holding the store's ingest lock, so no
 * ingest writes meanwhile (throws LockedError if one runs). Partition folders left empty go too.
 */
export async function removeIngestLeftovers(
  offlineRoot: string,
  lockFile: string,
  what: string,
): Promise<{ removed: readonly IngestLeftover[] }> {
  if (!(await stat(offlineRoot).catch(() => undefined))) return { removed: [] };
  const lock = await acquireProcessLock(lockFile, what);
  try {
    return { removed: await removeLeftoversWhileLocked(offlineRoot) };
  } finally {
    await lock.release();
  }
}

/** removeIngestLeftovers for a caller already holding the store's write lock (a compaction). */
export async function removeLeftoversWhileLocked(
  offlineRoot: string,
  now: number = Date.now(),
): Promise<IngestLeftover[]> {
  const { leftovers } = await findIngestLeftovers(offlineRoot, now);
  for (const leftover of leftovers) {
    await rm(leftover.path, { recursive: true, force: true });
    if (leftover.kind === 'uncommitted data file' || leftover.kind === 'superseded data file')
      await rmdir(path.dirname(leftover.path)).catch(() => undefined);
  }
  // The replaced files whose time was up are gone now; so go their manifest lines.
  await forgetExpiredReplacedFiles(offlineRoot, `${process.pid}-cleanup`, now);
  return [...leftovers];
}

/** Who writes a staging folder: the pid in its `owner.json`, and `kind` for a compaction. */
async function owner(stagingFolder: string): Promise<{ pid?: number; kind?: unknown }> {
  const text = await readFile(path.join(stagingFolder, 'owner.json'), 'utf8').catch(() => '');
  try {
    const parsed = JSON.parse(text) as { pid?: unknown; kind?: unknown };
    const pid = Number(parsed.pid);
    return Number.isInteger(pid) && pid > 0 ? { pid, kind: parsed.kind } : {};
  } catch {
    return {};
  }
}

async function sizeOf(target: string): Promise<number> {
  const info = await stat(target).catch(() => undefined);
  if (!info) return 0;
  if (!info.isDirectory()) return info.size;
  let total = 0;
  for (const entry of await list(target)) total += await sizeOf(path.join(target, entry.name));
  return total;
}

async function list(folder: string) {
  return readdir(folder, { withFileTypes: true }).catch(() => []);
}

/** `3 leftovers, 1.2 MB` and the like. */
export function describeBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}
