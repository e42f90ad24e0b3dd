import { readdir, readFile, rm, rmdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { acquireProcessLock, isRunning } from '../process-lock.ts';
import {
  committedFilesOf,
  ingestIdOfFile,
  isManifestTemporary,
  readManifest,
  sourceDataFiles,
} from './ingest-manifest.ts';
import { parseRunningTotalsTemporary } from './running-totals.ts';

/**
 * Something an interrupted ingest (or a killed running-totals build) left in the local offline
 * store; no reader reads it.
 */
export interface IngestLeftover {
  readonly kind:
    | 'staging folder'
    | 'uncommitted data file'
    | 'temporary manifest'
    | 'running-totals temporary';
  readonly path: string;
  readonly bytes: number;
  readonly ingestId?: string;
}

export interface LeftoverScan {
  readonly leftovers: readonly IngestLeftover[];
  /** Ingests whose process still runs: their staging and files are not leftovers. */
  readonly running: readonly { ingestId: string; pid: number }[];
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
  const running: { ingestId: string; pid: number }[] = [];
  const stagingRoot = path.join(offlineRoot, '_staging');
  for (const entry of await list(stagingRoot)) {
    if (!entry.isDirectory()) continue;
    const folder = path.join(stagingRoot, entry.name);
    const pid = await ownerPid(folder);
    if (pid !== undefined && pid !== process.pid && isRunning(pid))
      running.push({ ingestId: entry.name, pid });
    else
      leftovers.push({
        kind: 'staging folder',
        path: folder,
        bytes: await sizeOf(folder),
        ingestId: entry.name,
      });
  }

  const records = await readManifest(offlineRoot);
  if (records) {
    const committedIds = new Set(records.map((r) => r.ingestId));
    const runningIds = new Set(running.map((r) => r.ingestId));
    for (const source of await list(offlineRoot)) {
      if (!source.isDirectory() || source.name.startsWith('_')) continue;
      const committed = new Set(committedFilesOf(offlineRoot, source.name, records));
      for (const { folder, name } of sourceDataFiles(offlineRoot, source.name)) {
        const file = path.join(folder, name);
        const ingestId = ingestIdOfFile(name);
        if (!ingestId || committed.has(file) || committedIds.has(ingestId)) continue;
        if (runningIds.has(ingestId)) continue;
        leftovers.push({
          kind: 'uncommitted data file',
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
  const found: IngestLeftover[] = [];
  const root = path.join(offlineRoot, '_running_totals');
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
      if (abandoned) found.push({ kind: 'running-totals temporary', path: file, bytes: info.size });
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
    const { leftovers } = await findIngestLeftovers(offlineRoot);
    for (const leftover of leftovers) {
      await rm(leftover.path, { recursive: true, force: true });
      if (leftover.kind === 'uncommitted data file')
        await rmdir(path.dirname(leftover.path)).catch(() => undefined);
    }
    return { removed: leftovers };
  } finally {
    await lock.release();
  }
}

async function ownerPid(stagingFolder: string): Promise<number | undefined> {
  const text = await readFile(path.join(stagingFolder, 'owner.json'), 'utf8').catch(() => '');
  try {
    const pid = Number((JSON.parse(text) as { pid?: unknown }).pid);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
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
