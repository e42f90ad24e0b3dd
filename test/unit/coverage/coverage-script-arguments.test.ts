import { spawnSync } from 'node:child_process';
import { chmod, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTempDir, repoRoot } from '../../helpers/run-fstore.ts';

/**
 * scripts/coverage.sh copied into a folder of its own, with an `npx` on the PATH that records its
 * arguments and exits with `npxExit`: no vitest runs and the repository's coverage/ is untouched.
 */
async function scriptInFolder(npxExit = 0) {
  const root = await makeTempDir('coverage-script');
  await mkdir(path.join(root, 'scripts'));
  await copyFile(
    path.join(repoRoot, 'scripts/coverage.sh'),
    path.join(root, 'scripts/coverage.sh'),
  );
  const bin = path.join(root, 'bin');
  await mkdir(bin);
  const calls = path.join(root, 'npx-calls.txt');
  await writeFile(path.join(bin, 'npx'), `#!/bin/sh\necho "$*" >>"${calls}"\nexit ${npxExit}\n`);
  await chmod(path.join(bin, 'npx'), 0o755);
  const run = (...args: string[]) =>
    spawnSync('bash', [path.join(root, 'scripts/coverage.sh'), ...args], {
      cwd: root,
      env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` },
      encoding: 'utf8',
    });
  const npxCalls = async () => (await readFile(calls, 'utf8').catch(() => '')).trim();
  return { root, run, npxCalls };
}

describe('scripts/coverage.sh arguments', () => {
  it.each([
    ['--shard without a value', ['--shard']],
    ['an empty --shard=', ['--shard=']],
  ])('refuses %s, naming the expected form, and runs nothing', async (_, args) => {
    const { root, run, npxCalls } = await scriptInFolder();
    const earlier = path.join(root, 'coverage', 'in-process', 'coverage-final.json');
    await mkdir(path.dirname(earlier), { recursive: true });
    await writeFile(earlier, '{}');

    const result = run(...args);

    expect(result.status).toBe(2);
    expect(result.stderr).toContain('--shard must be I/N');
    expect(await npxCalls()).toBe('');
    expect(await readFile(earlier, 'utf8')).toBe('{}');
  });

  it("runs vitest's shard into its own folder and records vitest's exit code last", async () => {
    const { root, run, npxCalls } = await scriptInFolder(1);

    const result = run('--shard=2/6', 'test/unit');

    expect(result.status).toBe(1);
    const calls = await npxCalls();
    expect(calls).toContain('--shard=2/6');
    expect(calls).toContain('--coverage.reportsDirectory=coverage/shards/2-of-6/in-process');
    expect(calls).toMatch(/ test\/unit$/);
    const status = JSON.parse(
      await readFile(path.join(root, 'coverage/shards/2-of-6/shard-status.json'), 'utf8'),
    ) as { shard: string; exitCode: number };
    expect(status).toMatchObject({ shard: '2/6', exitCode: 1 });
  });
});
