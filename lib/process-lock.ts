import { readFileSync, rmSync } from 'node:fs';
import { open, readFile, rm } from 'node:fs/promises';
import { HintedError } from './hinted-error.ts';

export class LockedError extends HintedError {}

/**
 * An exclusive lock on a local resource, held by this process: a file holding our pid,
 * created exclusively. A lock left by a process that no longer runs is taken over.
 */
export async function acquireProcessLock(
  file: string,
  what: string,
): Promise<{ release(): Promise<void> }> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      removeOnExit(file);
      return {
        release: async () => {
          held.delete(file);
          await rm(file, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isRunning(holder)) {
        throw new LockedError(
          `${what} is in use by another fstore process (pid ${holder})`,
          `stop that process first (kill ${holder}), or query its HTTP API`,
        );
      }
      await rm(file, { force: true });
    }
  }
  throw new LockedError(`could not lock ${what}`, `remove ${file} if no fstore process is running`);
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
