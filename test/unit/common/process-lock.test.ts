import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireProcessLock } from '../../../lib/process-lock.ts';

const lockModule = path.resolve('lib/process-lock.ts');

/** Runs a node process that takes the lock, optionally overwrites it, then calls process.exit. */
function exitHolding(file: string, after = ''): number | null {
  const script = `
    import { writeFileSync } from 'node:fs';
    import { acquireProcessLock } from ${JSON.stringify(lockModule)};
    await acquireProcessLock(${JSON.stringify(file)}, 'a test resource');
    ${after}
    process.exit(143);
  `;
  return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script])
    .status;
}

describe('process locks', () => {
  it('are removed when the holding process exits without releasing them (a forced exit on a second signal)', async () => {
    const file = path.join(await mkdtemp(path.join(tmpdir(), 'fstore-lock-')), 'online.lock');
    expect(exitHolding(file)).toBe(143);
    expect(existsSync(file)).toBe(false);
  });

  it('leave a lock file alone on exit once it names another process', async () => {
    const file = path.join(await mkdtemp(path.join(tmpdir(), 'fstore-lock-')), 'online.lock');
    expect(exitHolding(file, `writeFileSync(${JSON.stringify(file)}, '1');`)).toBe(143);
    expect(await readFile(file, 'utf8')).toBe('1');
  });

  it('release the file, and a released lock can be taken again', async () => {
    const file = path.join(await mkdtemp(path.join(tmpdir(), 'fstore-lock-')), 'online.lock');
    const lock = await acquireProcessLock(file, 'a test resource');
    expect(await readFile(file, 'utf8')).toBe(String(process.pid));
    await lock.release();
    expect(existsSync(file)).toBe(false);
    await writeFile(file, '2147483646');
    const again = await acquireProcessLock(file, 'a test resource');
    expect(await readFile(file, 'utf8')).toBe(String(process.pid));
    await again.release();
  });
});
