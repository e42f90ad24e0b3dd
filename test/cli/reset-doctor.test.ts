import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTempDir, runFstore, spawnFstore } from '../helpers/run-fstore.ts';

describe('fstore reset and doctor', () => {
  it('reset needs --yes without a terminal, refuses while the store runs, then deletes the environment', async () => {
    const dataDir = await makeTempDir('reset');
    expect((await runFstore(['--data-dir', dataDir, 'start', '--no-serve'])).code).toBe(0);
    const unconfirmed = await runFstore(['--data-dir', dataDir, 'reset']);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toContain('pass --yes');

    const running = spawnFstore(['--data-dir', dataDir, 'serve', '--port', '0']);
    try {
      await running.waitFor(/lookup API ready/);
      const refused = await runFstore(['--data-dir', dataDir, 'reset', '--yes']);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('in use by another fstore process');
      expect(existsSync(path.join(dataDir, 'local', 'registry.json'))).toBe(true);
    } finally {
      expect(await running.stop()).toBe(0);
    }

    const reset = await runFstore(['--data-dir', dataDir, 'reset', '--yes']);
    expect(reset.code, reset.stderr).toBe(0);
    expect(existsSync(path.join(dataDir, 'local'))).toBe(false);
    expect((await runFstore(['--data-dir', dataDir, 'reset', '--yes'])).stdout).toContain(
      'Nothing to reset',
    );
  }, 120_000);

  it('reset refuses AWS environments', async () => {
    const result = await runFstore(['--env', 'prod', 'reset', '--yes']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('local environments only');
  });

  it('doctor checks Node.js, native modules and disk space and passes on this machine', async () => {
    const result = await runFstore(['doctor']);
    expect(result.code, result.stdout).toBe(0);
    for (const check of [
      'Node.js',
      'DuckDB (native)',
      'LevelDB (dynalite on disk)',
      'esbuild (Lambda bundles)',
      'disk space',
    ]) {
      expect(result.stdout).toMatch(new RegExp(`✔ │ ${check.replace(/[()]/g, '\\$&')}`));
    }
  });
});
