import { link, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireProcessLock, lockOwner, removeStale } from '../../../lib/process-lock.ts';

const deadPid = '2147483646';

async function lockFile(): Promise<string> {
  return path.join(await mkdtemp(path.join(tmpdir(), 'fstore-lock-takeover-')), 'online.lock');
}

describe('taking over a stale process lock', () => {
  it('leaves alone a live lock that replaced the stale one judged a moment before (another process removed it and a third took the lock)', async () => {
    const file = await lockFile();
    await writeFile(file, deadPid);
    const judged = await lockOwner(file);
    await rm(file);
    await writeFile(file, String(process.ppid)); // a running process's fresh lock
    const ours = `${file}.${process.pid}.0000abcd.tmp`;
    await writeFile(ours, String(process.pid));
    await removeStale(file, judged?.id ?? '', ours);
    expect(await readFile(file, 'utf8')).toBe(String(process.ppid));
    await rm(ours);
    expect((await readdir(path.dirname(file))).sort()).toEqual(['online.lock']);
  });

  it('removes the stale lock it judged when nothing changed, and leaves no marker', async () => {
    const file = await lockFile();
    await writeFile(file, deadPid);
    const judged = await lockOwner(file);
    const ours = `${file}.${process.pid}.0000abcd.tmp`;
    await writeFile(ours, String(process.pid));
    await removeStale(file, judged?.id ?? '', ours);
    await rm(ours);
    expect(await readdir(path.dirname(file))).toEqual([]);
  });

  it('gets past the marker of a taker killed mid-way, over a stale lock, and cleans the marker up', async () => {
    const file = await lockFile();
    await writeFile(file, deadPid);
    const judged = await lockOwner(file);
    await writeFile(`${file}.takeover-${judged?.id}`, deadPid);
    const lock = await acquireProcessLock(file, 'a test resource');
    expect(await readFile(file, 'utf8')).toBe(String(process.pid));
    await lock.release();
    expect(await readdir(path.dirname(file))).toEqual([]);
  });

  it('cleans up the marker a taker killed after removing the stale lock left behind', async () => {
    const file = await lockFile();
    await writeFile(`${file}.takeover-1-2-3`, deadPid);
    const lock = await acquireProcessLock(file, 'a test resource');
    await lock.release();
    expect(await readdir(path.dirname(file))).toEqual([]);
  });

  it('does not take a stale lock while a running process holds its takeover marker', async () => {
    const file = await lockFile();
    await writeFile(file, deadPid);
    const judged = await lockOwner(file);
    await writeFile(`${file}.takeover-${judged?.id}`, String(process.ppid));
    const ours = `${file}.${process.pid}.0000abcd.tmp`;
    await writeFile(ours, String(process.pid));
    await removeStale(file, judged?.id ?? '', ours);
    expect(await readFile(file, 'utf8')).toBe(deadPid);
  });

  it('judges one stale lock by one identity, before and after a dead writer’s extra link to it is removed', async () => {
    const file = await lockFile();
    const deadTemporary = `${file}.${deadPid}.0000dead.tmp`;
    await writeFile(deadTemporary, deadPid);
    await link(deadTemporary, file); // killed between linking the lock and removing its temporary
    const before = await lockOwner(file);
    await rm(deadTemporary); // the next acquirer's clean-up of dead writers' files
    expect((await lockOwner(file))?.id).toBe(before?.id);
  });
});
