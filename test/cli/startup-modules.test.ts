import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { makeTempDir, repoRoot, runFstore } from '../helpers/run-fstore.ts';

const recorder = pathToFileURL(path.join(repoRoot, 'test', 'helpers', 'module-recorder.mjs')).href;

/** Runs the CLI and returns its exit code and every module URL the process loaded. */
async function modulesLoadedBy(
  args: readonly string[],
): Promise<{ code: number | null; modules: string[] }> {
  const log = path.join(await makeTempDir('modules'), 'loaded.txt');
  const result = await runFstore(args, {
    env: {
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${recorder}`.trim(),
      FSTORE_MODULE_LOG: log,
    },
  });
  const modules = (await readFile(log, 'utf8')).split('\n').filter(Boolean);
  return { code: result.code, modules };
}

/** Packages and project folders a start-up must not pay for unless its command needs them. */
const heavy = ['@duckdb/', '@aws-sdk/', 'aws-cdk-lib/', '/zod/', '/lib/registry/', '/lib/offline/'];

const loadedOf = (modules: readonly string[], parts: readonly string[]) =>
  parts.filter((part) => modules.some((url) => url.includes(part)));

const commandModules = (modules: readonly string[]) =>
  modules.filter((url) => url.includes('/lib/cli/commands/')).map((url) => path.basename(url));

describe('CLI start-up loads only what the command runs', () => {
  it('fstore --version loads no command, no DuckDB, AWS SDK, CDK, zod, registry or offline code', async () => {
    const { code, modules } = await modulesLoadedBy(['--version']);
    expect(code).toBe(0);
    expect(
      modules.some((url) => url.endsWith('/lib/cli/run-cli.ts')),
      'the recorder saw the CLI',
    ).toBe(true);
    expect(loadedOf(modules, heavy)).toEqual([]);
    expect(commandModules(modules)).toEqual([]);
  });

  it('fstore --help lists every command without loading one', async () => {
    const { code, modules } = await modulesLoadedBy(['--help']);
    expect(code).toBe(0);
    expect(loadedOf(modules, heavy)).toEqual([]);
    expect(commandModules(modules)).toEqual([]);
  });

  it('fstore validate loads the validate command and the registry compiler, and neither DuckDB nor the AWS SDK', async () => {
    const { code, modules } = await modulesLoadedBy(['--env', 'local', 'validate', '--help']);
    expect(code).toBe(0);
    expect(commandModules(modules)).toEqual(['validate.ts']);
    expect(loadedOf(modules, heavy)).toEqual(['/zod/', '/lib/registry/']);
  });

  it('a local fstore training-set loads DuckDB up to its first query, and not the AWS SDK', async () => {
    const dataDir = await makeTempDir('startup');
    const { code, modules } = await modulesLoadedBy([
      '--data-dir',
      dataDir,
      'training-set',
      '--service',
      'churn_v1',
      '--entities',
      path.join(dataDir, 'no-such-entities.csv'),
      '--out',
      path.join(dataDir, 'out.parquet'),
    ]);
    expect(code).toBe(1);
    expect(commandModules(modules).sort()).toEqual(['training-set-output.ts', 'training-set.ts']);
    expect(loadedOf(modules, heavy)).toEqual([
      '@duckdb/',
      '/zod/',
      '/lib/registry/',
      '/lib/offline/',
    ]);
  });

  it('a local fstore ingest loads neither the AWS SDK nor the S3 target', async () => {
    const dataDir = await makeTempDir('startup');
    const { code, modules } = await modulesLoadedBy([
      '--data-dir',
      dataDir,
      'ingest',
      '--source',
      'orders',
      '--file',
      path.join(dataDir, 'no-such-orders.csv'),
    ]);
    expect(code).toBe(1);
    expect(commandModules(modules)).toContain('ingest.ts');
    expect(loadedOf(modules, ['@aws-sdk/', 's3-ingest-target.ts'])).toEqual([]);
  });
});
