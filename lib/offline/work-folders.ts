import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';

/**
 * Temporary work folders named `<prefix><pid>-<random>`: the process that made one is in its
 * name, so a later run can tell a folder whose process was killed (a Lambda function's hard
 * timeout leaves it in `/tmp`, which a warm container keeps, until a full disk fails every later
 * run) from one a live process still uses.
 */

/** This process's folders not yet removed. */
const openFolders = new Set<string>();

/** Makes `<parent>/<prefix><pid>-<random>`, held as this process's until `removeWorkFolder`. */
export async function makeWorkFolder(parent: string, prefix: string): Promise<string> {
  const dir = path.join(parent, `${prefix}${process.pid}-${randomBytes(6).toString('hex')}`);
  // Held before it exists: a sweep of this process running meanwhile must not take it for stale.
  openFolders.add(dir);
  try {
    await mkdir(dir); // not recursive: a name already there fails rather than being shared
    return dir;
  } catch (error) {
    openFolders.delete(dir);
    throw error;
  }
}

export async function removeWorkFolder(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  openFolders.delete(dir);
}

/**
 * Removes the work folders named `<prefix><pid>-…` in `parent` of processes killed before they
 * removed them. Kept: a folder of a process still running (it may share `parent`, as
 * `fstore compact` runs do), one this process holds, and every other name. Lambda restarts its
 * runtime under the same pid, so this pid's folders it does not hold are stale too.
 */
export async function removeStaleWorkFolders(parent: string, prefix: string): Promise<void> {
  const names = await readdir(parent).catch(() => []);
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = /^(\d+)-./.exec(name.slice(prefix.length))?.[1];
    const dir = path.join(parent, name);
    if (pid === undefined || openFolders.has(dir)) continue;
    if (Number(pid) !== process.pid && processRuns(Number(pid))) continue;
    await rm(dir, { recursive: true, force: true });
  }
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
