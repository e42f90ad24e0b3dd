import { open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { readManifest, syncFolder } from './ingest-manifest.ts';
import { offlineRoot } from './local-layout.ts';
import { committedSeqs } from './seq-pins.ts';
import {
  checkSnapshotWanted,
  newSnapshot,
  noSuchSnapshot,
  pinsOf,
  type Snapshot,
  SnapshotError,
  type SnapshotWanted,
  snapshotNameTaken,
  snapshotSchema,
} from './snapshot-format.ts';

export { checkSnapshotName, pinsOf, type Snapshot, SnapshotError } from './snapshot-format.ts';

const fileSchema = z.object({ format: z.literal(1), snapshots: z.array(snapshotSchema) });

/** `.fstore/<env>/offline/_snapshots.json`, beside the ingest manifest whose seqs it pins. */
export function snapshotsPath(dataDir: string, env: string): string {
  return path.join(offlineRoot(dataDir, env), '_snapshots.json');
}

/** Every snapshot of the environment, oldest first; none when the file does not exist. */
export async function listSnapshots(dataDir: string, env: string): Promise<Snapshot[]> {
  const file = snapshotsPath(dataDir, env);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const result = fileSchema.safeParse(parsed);
  if (!result.success)
    throw new SnapshotError(
      `the snapshot list ${file} is damaged: ${result.error.issues[0]?.path.join('.') || 'not JSON'}`,
      'restore it from a backup; it is only ever replaced whole, so a damaged file was edited or its disk failed',
    );
  return result.data.snapshots;
}

/**
 * Per snapshot, the highest `fstore_seq` it pins of each source: rows at or below it are read by
 * `training-set --snapshot`, so retention and deletion must not remove them silently.
 */
export async function snapshotPins(
  dataDir: string,
  env: string,
): Promise<{ readonly name: string; readonly pins: ReadonlyMap<string, bigint> }[]> {
  return (await listSnapshots(dataDir, env)).map((snapshot) => ({
    name: snapshot.name,
    pins: pinsOf(snapshot),
  }));
}

/** The snapshot called `name`, or a SnapshotError naming the ones there are. */
export async function findSnapshot(dataDir: string, env: string, name: string): Promise<Snapshot> {
  const snapshots = await listSnapshots(dataDir, env);
  const found = snapshots.find((s) => s.name === name);
  if (found) return found;
  throw noSuchSnapshot(
    env,
    name,
    snapshots.map((s) => s.name),
  );
}

/**
 * Pins what is committed now of `sources` under a new name. Refuses a bad or taken name, and a
 * store with nothing ingested, changing nothing.
 */
export async function createSnapshot(
  dataDir: string,
  env: string,
  wanted: SnapshotWanted,
): Promise<Snapshot> {
  checkSnapshotWanted(wanted);
  const root = offlineRoot(dataDir, env);
  return withSnapshotsLock(root, async () => {
    const snapshots = await listSnapshots(dataDir, env);
    if (snapshots.some((s) => s.name === wanted.name)) throw snapshotNameTaken(env, wanted.name);
    const records = await readManifest(root);
    if (!records || records.length === 0)
      throw new SnapshotError(
        `environment "${env}" has no ingested data to snapshot (${root})`,
        'ingest first: fstore ingest --source <name> --file <path>',
      );
    const snapshot = newSnapshot(wanted, committedSeqs(records, wanted.sources));
    await replaceSnapshots(dataDir, env, [...snapshots, snapshot]);
    return snapshot;
  });
}

/** Removes the snapshot `name` (a SnapshotError when there is none), returning it. */
export async function deleteSnapshot(
  dataDir: string,
  env: string,
  name: string,
): Promise<Snapshot> {
  return withSnapshotsLock(offlineRoot(dataDir, env), async () => {
    const found = await findSnapshot(dataDir, env, name);
    const snapshots = await listSnapshots(dataDir, env);
    await replaceSnapshots(
      dataDir,
      env,
      snapshots.filter((s) => s.name !== name),
    );
    return found;
  });
}

/** Temporary file, fsync, rename: a crash leaves the old list or the new, never half. */
async function replaceSnapshots(
  dataDir: string,
  env: string,
  snapshots: readonly Snapshot[],
): Promise<void> {
  const file = snapshotsPath(dataDir, env);
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    const handle = await open(temporary, 'w');
    try {
      await handle.writeFile(`${JSON.stringify({ format: 1, snapshots }, null, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
  } finally {
    await rm(temporary, { force: true });
  }
  await syncFolder(path.dirname(file));
}

const lockWaitMs = 5_000;

/** One change of the snapshot list at a time (two creates would otherwise lose one). */
async function withSnapshotsLock<T>(root: string, work: () => Promise<T>): Promise<T> {
  const lock = await holdSnapshotsLock(root);
  try {
    return await work();
  } finally {
    await lock.release();
  }
}

/**
 * Takes the lock that snapshot creates and deletes hold (`_snapshots.lock`, waiting for another
 * holder as they do). Local retention holds it from its last read of the pins to its commit, so
 * no snapshot is created in between (issue 19).
 */
export async function holdSnapshotsLock(root: string): Promise<{ release(): Promise<void> }> {
  const lock = path.join(root, '_snapshots.lock');
  const started = Date.now();
  for (;;) {
    try {
      const handle = await open(lock, 'wx');
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      break;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT')
        throw new SnapshotError(
          `the offline store ${root} does not exist`,
          'ingest first: fstore ingest --source <name> --file <path>',
        );
      if (code !== 'EEXIST') throw error;
      // A lock whose process is gone (killed) is stale: remove it and try again.
      if (await heldByDeadProcess(lock)) {
        await rm(lock, { force: true });
        continue;
      }
      if (Date.now() - started > lockWaitMs)
        throw new SnapshotError(
          `another fstore is changing the snapshots (${lock} exists)`,
          'wait for it; if no fstore is running, a killed one left the lock: remove that file',
        );
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return { release: () => rm(lock, { force: true }) };
}

/** Whether the lock file names a process id that no longer runs on this machine. */
async function heldByDeadProcess(lock: string): Promise<boolean> {
  const pid = Number.parseInt(await readFile(lock, 'utf8').catch(() => ''), 10);
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
