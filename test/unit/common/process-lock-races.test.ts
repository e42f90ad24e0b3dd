import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { acquireProcessLock, LockedError } from '../../../lib/process-lock.ts';

const lockModule = path.resolve('lib/process-lock.ts');

/** A node process running `script` (ESM, top-level await), with its stdout read line by line. */
function child(script: string) {
  const process_ = spawn(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', script],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const lines: string[] = [];
  const waiters: (() => void)[] = [];
  createInterface({ input: process_.stdout }).on('line', (line) => {
    lines.push(line);
    for (const wake of waiters.splice(0)) wake();
  });
  const exited = new Promise<void>((resolve) => process_.on('exit', () => resolve()));
  return {
    process: process_ as ChildProcess,
    exited,
    /** Waits for a line matching `pattern` (bounded, so a child that died early fails the test). */
    async line(pattern: RegExp): Promise<string> {
      const until = Date.now() + 120_000;
      for (;;) {
        const found = lines.find((l) => pattern.test(l));
        if (found !== undefined) return found;
        if (Date.now() > until || process_.exitCode !== null)
          throw new Error(`no line ${pattern} (got ${JSON.stringify(lines)})`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 200);
        });
      }
    },
    send(text: string) {
      process_.stdin?.write(`${text}\n`);
    },
  };
}

const stdinLines = `
  import { createInterface } from 'node:readline';
  const input = createInterface({ input: process.stdin });
  const next = () => new Promise((resolve) => input.once('line', resolve));
`;

async function lockFile(): Promise<string> {
  return path.join(await mkdtemp(path.join(tmpdir(), 'fstore-lock-race-')), 'online.lock');
}

describe('process locks against killed and racing processes', () => {
  it('take over a lock whose holder was killed with SIGKILL (no exit hook ran)', async () => {
    const file = await lockFile();
    const holder = child(`
      import { acquireProcessLock } from ${JSON.stringify(lockModule)};
      await acquireProcessLock(${JSON.stringify(file)}, 'a test resource');
      console.log('held');
      setInterval(() => {}, 1000);
    `);
    await holder.line(/^held$/);
    await expect(acquireProcessLock(file, 'a test resource')).rejects.toThrow(LockedError);
    holder.process.kill('SIGKILL');
    await holder.exited;
    expect(await readFile(file, 'utf8')).toBe(String(holder.process.pid));
    const lock = await acquireProcessLock(file, 'a test resource');
    expect(await readFile(file, 'utf8')).toBe(String(process.pid));
    await lock.release();
    expect(existsSync(file)).toBe(false);
  }, 180_000);

  it('take over an empty lock file a writer left when SIGKILL stopped it between create and write', async () => {
    const file = await lockFile();
    const writer = child(`
      import { open } from 'node:fs/promises';
      await open(${JSON.stringify(file)}, 'wx');
      console.log('created');
      setInterval(() => {}, 1000);
    `);
    await writer.line(/^created$/);
    writer.process.kill('SIGKILL');
    await writer.exited;
    expect(await readFile(file, 'utf8')).toBe('');
    const lock = await acquireProcessLock(file, 'a test resource');
    expect(await readFile(file, 'utf8')).toBe(String(process.pid));
    await lock.release();
  }, 180_000);

  it('remove the temporary file a writer killed before linking it left, and keep a live writer’s', async () => {
    const file = await lockFile();
    const dead = `${file}.2147483646.0badf00d.tmp`;
    const live = `${file}.${process.pid}.0000beef.tmp`;
    await writeFile(dead, '2147483646');
    await writeFile(live, String(process.pid));
    const lock = await acquireProcessLock(file, 'a test resource');
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live)).toBe(true);
    await lock.release();
  });

  it.each([
    ['no lock file', undefined],
    ['an empty lock file', ''],
    ['the lock of a dead process', '2147483646'],
  ])(
    'of six processes racing for it, exactly one takes it, over %s, and no temporary file stays',
    async (_, planted) => {
      const file = await lockFile();
      if (planted !== undefined) await writeFile(file, planted);
      const racers = Array.from({ length: 6 }, () =>
        child(`
          import { acquireProcessLock } from ${JSON.stringify(lockModule)};
          ${stdinLines}
          console.log('ready');
          await next();
          const lock = await acquireProcessLock(${JSON.stringify(file)}, 'a test resource').catch(
            (error) => (error.name === 'LockedError' || /in use/.test(error.message) ? undefined : Promise.reject(error)),
          );
          console.log(lock ? 'held' : 'locked');
          await next();
          await lock?.release();
          process.exit(0);
        `),
      );
      for (const racer of racers) await racer.line(/^ready$/);
      for (const racer of racers) racer.send('go');
      const outcomes = await Promise.all(racers.map((r) => r.line(/^(held|locked)$/)));
      const holders = racers.filter((_, i) => outcomes[i] === 'held');
      expect(outcomes.filter((o) => o === 'held')).toHaveLength(1);
      expect(await readFile(file, 'utf8')).toBe(String(holders[0]?.process.pid));
      for (const racer of racers) racer.send('release');
      await Promise.all(racers.map((r) => r.exited));
      expect(await readdir(path.dirname(file))).toEqual([]);
    },
    240_000,
  );
});
