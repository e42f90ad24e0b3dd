import { randomBytes } from 'node:crypto';
import { constants, readFileSync, rmSync } from 'node:fs';
import { copyFile, link, open, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { HintedError } from './hinted-error.ts';

export class LockedError extends HintedError {}

/**
 * An exclusive lock on a local resource, held by this process: a file holding our pid. It is
 * written whole to a temporary file first and then hard-linked to the lock's name, so the lock
 * appears with its content or not at all (a process killed mid-way leaves no empty lock). A lock
 * naming a process that no longer runs, or with no pid in it (an older writer killed between
 * create and write), is stale: see `removeStale` for how exactly one process removes it.
 */
export async function acquireProcessLock(
  file: string,
  what: string,
): Promise<{ release(): Promise<void> }> {
  const mine = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(`${mine}.tmp`, String(process.pid));
  } catch (error) {
    await rm(`${mine}.tmp`, { force: true });
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new LockedError(
      `could not write the lock of ${what} at ${file} (${code})`,
      'check that the data directory is writable and has free space',
      { cause: error },
    );
  }
  try {
    await removeDeadWritersFiles(file, `${mine}.tmp`);
    // Each turn takes the lock, finds it held, or removes a stale one (or waits on whoever is).
    for (const giveUpAt = Date.now() + 10_000; Date.now() < giveUpAt; ) {
      if (await createWithContent(`${mine}.tmp`, file)) {
        removeOnExit(file);
        return {
          release: async () => {
            held.delete(file);
            if ((await lockOwner(file))?.pid === process.pid) await rm(file, { force: true });
          },
        };
      }
      const seen = await lockOwner(file);
      if (!seen) continue; // released meanwhile
      const holder = seen.pid;
      if (holder !== undefined && holder !== process.pid && isRunning(holder))
        throw new LockedError(
          `${what} is in use by another fstore process (pid ${holder})`,
          `stop that process first (kill ${holder}), or query its HTTP API`,
        );
      await removeStale(file, seen.id, `${mine}.tmp`);
    }
  } finally {
    await rm(`${mine}.tmp`, { force: true });
  }
  throw new LockedError(`could not lock ${what}`, `remove ${file} if no fstore process is running`);
}

/** Creates `file` with the bytes of `from`, only if absent: false when it exists. */
async function createWithContent(from: string, file: string): Promise<boolean> {
  try {
    await link(from, file);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw error;
  }
  // A file system without hard links: an exclusive copy (its content lands just after the create).
  try {
    await copyFile(from, file, constants.COPYFILE_EXCL);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/**
 * The lock file's identity (inode, birth and modify times: a file removed and created again
 * differs even when its inode number is reused) and the pid it names (undefined when it names none); undefined
 * if absent.
 */
export async function lockOwner(file: string): Promise<{ id: string; pid?: number } | undefined> {
  const handle = await open(file, 'r').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (!handle) return undefined;
  try {
    // Not ctime: it moves when a link count changes (a dead writer's temporary linked to the
    // lock being removed), and then two takers would judge one stale lock by two markers.
    const { ino, birthtimeNs, mtimeNs } = await handle.stat({ bigint: true });
    const id = `${ino}-${birthtimeNs}-${mtimeNs}`;
    const text = (await handle.readFile('utf8')).trim();
    const pid = /^\d{1,10}$/.test(text) ? Number(text) : 0;
    return pid > 0 ? { id, pid } : { id };
  } finally {
    await handle.close();
  }
}

/**
 * Removes the stale lock `file`, the instance `id`, unless it changed meanwhile. Removing by name
 * is a race (between judging it stale and removing it, another process may have removed it and a
 * third taken the lock afresh), so only the process that creates the marker `<file>.takeover-<id>`
 * may remove that instance: it checks again that the file is still that stale instance, removes
 * it, then its marker. A marker whose writer died mid-way is itself a stale lock, removed by the
 * same rule one level down. Returns with nothing done when another process is at it: the caller
 * tries again.
 */
export async function removeStale(
  file: string,
  id: string,
  ourPidFile: string,
  depth = 0,
): Promise<void> {
  if (depth > 4)
    throw new LockedError(
      `could not take over the stale lock ${file}`,
      `remove ${file} and its .takeover-* files if no fstore process is running`,
    );
  const marker = `${file}.takeover-${id}`;
  if (!(await createWithContent(ourPidFile, marker))) {
    const other = await lockOwner(marker);
    if (other?.pid !== undefined && other.pid !== process.pid && isRunning(other.pid)) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return;
    }
    if (other) await removeStale(marker, other.id, ourPidFile, depth + 1);
    return;
  }
  try {
    const now = await lockOwner(file);
    const stale = now?.pid === undefined || now.pid === process.pid || !isRunning(now.pid);
    if (now?.id === id && stale) await rm(file, { force: true });
  } finally {
    await rm(marker, { force: true });
  }
}

/**
 * Temporary files (and moved-aside files of older versions) of `file` that processes no longer
 * running left behind, and takeover markers whose writer died after removing the stale lock.
 */
async function removeDeadWritersFiles(file: string, ourPidFile: string): Promise<void> {
  const base = path.basename(file);
  const names = await readdir(path.dirname(file)).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(`${base}.`)) continue;
    const full = path.join(path.dirname(file), name);
    const match = /^\.(\d+)\.[0-9a-f]{8}\.(tmp|stale)$/.exec(name.slice(base.length));
    if (match && !isRunning(Number(match[1]))) await rm(full, { force: true });
    if (!name.slice(base.length).startsWith('.takeover-')) continue;
    const marker = await lockOwner(full);
    if (marker && (marker.pid === undefined || !isRunning(marker.pid)))
      await removeStale(full, marker.id, ourPidFile, 1);
  }
}

/** Lock files this process holds, removed synchronously if it exits before releasing them. */
const held = new Set<string>();
let exitHook = false;

function removeOnExit(file: string): void {
  if (!exitHook) process.on('exit', removeHeld);
  exitHook = true;
  held.add(file);
}

function removeHeld(): void {
  for (const file of held) {
    try {
      // Only our own lock: another process may have taken over a file we lost.
      if (readFileSync(file, 'utf8').trim() === String(process.pid)) rmSync(file, { force: true });
    } catch {
      // Gone already.
    }
  }
  held.clear();
}

/** Whether a process with this pid runs (one we may not signal counts as running). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
