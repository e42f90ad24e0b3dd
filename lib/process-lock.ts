import { randomBytes } from 'node:crypto';
import { constants, readFileSync, rmSync } from 'node:fs';
import { copyFile, link, open, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { HintedError } from './hinted-error.ts';

export class LockedError extends HintedError {}

/**
 * An exclusive lock on a local resource, held by this process: a file holding our pid. It is
 * written whole to a temporary file first and then hard-linked to the lock's name, so the lock
 * appears with its content or not at all (a process killed mid-way leaves no empty lock). A lock
 * naming a process that no longer runs, or with no pid in it (an older writer killed between
 * create and write), is moved aside by rename and taken; if what was moved aside is not what was
 * judged stale (another process took it meanwhile), it is put back.
 */
export async function acquireProcessLock(
  file: string,
  what: string,
): Promise<{ release(): Promise<void> }> {
  await removeDeadWritersFiles(file);
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
    for (let attempt = 0; attempt < 4; attempt++) {
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
      await removeStale(file, seen.ino, `${mine}.stale`);
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

/** The lock's inode and the pid it names (undefined when it names none); undefined if absent. */
async function lockOwner(file: string): Promise<{ ino: number; pid?: number } | undefined> {
  const handle = await open(file, 'r').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (!handle) return undefined;
  try {
    const { ino } = await handle.stat();
    const text = (await handle.readFile('utf8')).trim();
    const pid = /^\d{1,10}$/.test(text) ? Number(text) : 0;
    return pid > 0 ? { ino, pid } : { ino };
  } finally {
    await handle.close();
  }
}

/** Moves the stale lock (inode `ino`) aside and deletes it; a different lock found there is put back. */
async function removeStale(file: string, ino: number, aside: string): Promise<void> {
  try {
    await rename(file, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if ((await stat(aside)).ino !== ino) await link(aside, file).catch(() => undefined);
  await rm(aside, { force: true });
}

/** Temporary and moved-aside files of `file` that processes no longer running left behind. */
async function removeDeadWritersFiles(file: string): Promise<void> {
  const base = path.basename(file);
  const names = await readdir(path.dirname(file)).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(`${base}.`)) continue;
    const match = /^\.(\d+)\.[0-9a-f]{8}\.(tmp|stale)$/.exec(name.slice(base.length));
    if (match && !isRunning(Number(match[1])))
      await rm(path.join(path.dirname(file), name), { force: true });
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
