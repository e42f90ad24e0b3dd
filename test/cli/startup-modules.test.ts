import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildCliBundle, freshCliBundle } from '../../bin/cli-bundle.mjs';
import { makeTempDir, repoRoot, runFstore, writeDefs } from '../helpers/run-fstore.ts';

const recorder = pathToFileURL(path.join(repoRoot, 'test', 'helpers', 'module-recorder.mjs')).href;

type Mode = 'sources' | 'bundle';

/**
 * Runs the CLI from its TypeScript sources (tsx) or from its bundle, and returns its exit code,
 * output and every module URL the process loaded.
 */
async function modulesLoadedBy(
  args: readonly string[],
  mode: Mode = 'sources',
): Promise<{ code: number | null; modules: string[]; stderr: string }> {
  // Other work may change a source while the CLI starts: a bundle run that fell back to the
  // sources for that reason is run again on a bundle built from the sources as they are.
  for (let attempt = 1; ; attempt++) {
    const log = path.join(await makeTempDir('modules'), 'loaded.txt');
    if (mode === 'bundle' && !freshCliBundle().dir) await buildCliBundle();
    const result = await runFstore(args, {
      env: {
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${recorder}`.trim(),
        FSTORE_MODULE_LOG: log,
        FSTORE_CLI_SOURCES: mode === 'sources' ? '1' : '0',
      },
    });
    const modules = (await readFile(log, 'utf8')).split('\n').filter(Boolean);
    const fellBack = result.stderr.includes('running from the TypeScript sources');
    if (mode === 'bundle' && fellBack && attempt < 3) continue;
    if (mode === 'bundle')
      expect(result.stderr).not.toContain('running from the TypeScript sources');
    return { code: result.code, modules, stderr: result.stderr };
  }
}

/** Packages and project folders a start-up must not pay for unless its command needs them. */
const heavy = ['@duckdb/', '@aws-sdk/', 'aws-cdk-lib/', '/zod/', '/lib/registry/', '/lib/offline/'];

const loadedOf = (modules: readonly string[], parts: readonly string[]) =>
  parts.filter((part) => modules.some((url) => url.includes(part)));

const commandModules = (modules: readonly string[]) =>
  modules.filter((url) => url.includes('/lib/cli/commands/')).map((url) => path.basename(url));

describe('CLI start-up from the TypeScript sources loads only what the command runs', () => {
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
    // The local build and its manifest record; not the replay, the dry run or the Athena path.
    expect(commandModules(modules).sort()).toEqual([
      'training-set-local-build.ts',
      'training-set-output.ts',
      'training-set-record.ts',
      'training-set-recorded.ts',
      'training-set.ts',
    ]);
    expect(loadedOf(modules, heavy)).toEqual([
      '@duckdb/',
      '/zod/',
      '/lib/registry/',
      '/lib/offline/',
    ]);
  });

  it.each(['describe', 'iam-policy', 'plan', 'stats', 'validate-data'])(
    'fstore %s loads no AWS SDK until it reaches an AWS environment',
    async (command) => {
      const { code, modules } = await modulesLoadedBy(['--env', 'local', command, '--help']);
      expect(code).toBe(0);
      expect(commandModules(modules)).toContain(
        `${command === 'stats' ? 'stats-drift' : command}.ts`,
      );
      expect(loadedOf(modules, ['@aws-sdk/'])).toEqual([]);
    },
  );

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

  it('a local fstore delete loads none of the AWS path (S3, Athena, the AWS erasure)', async () => {
    const dataDir = await makeTempDir('startup');
    const { code, modules } = await modulesLoadedBy([
      '--data-dir',
      dataDir,
      'delete',
      '--entity',
      'customer_id=C1',
      '--yes',
    ]);
    expect(code).toBe(0);
    expect(commandModules(modules)).toContain('delete.ts');
    // The local online store speaks DynamoDB's API (dynalite), so client-dynamodb is expected.
    expect(
      loadedOf(modules, [
        '@aws-sdk/client-s3',
        '@aws-sdk/client-athena',
        'delete-aws.ts',
        'erase-entities-aws.ts',
      ]),
    ).toEqual([]);
  });
});

// The `current` link names a build folder; modules load from the folder it named at start-up.
const inBundle = (url: string) => /\/node_modules\/\.cache\/fstore-cli\/build-[^/]+\//.test(url);
const loadsFromBundle = (modules: readonly string[], file: string) =>
  modules.some((url) => inBundle(url) && url.endsWith(`/${file}`));
const projectSources = (modules: readonly string[]) =>
  modules.filter(
    (url) => url.startsWith(pathToFileURL(repoRoot).href) && /\/(lib|bin)\/.*\.ts$/.test(url),
  );

describe('CLI start-up from its bundle', () => {
  it('fstore --version runs the bundle and loads no TypeScript, tsx, command chunk or heavy package', async () => {
    const { code, modules, stderr } = await modulesLoadedBy(['--version'], 'bundle');
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(loadsFromBundle(modules, 'lib/cli/run-cli.mjs')).toBe(true);
    expect(projectSources(modules)).toEqual([]);
    expect(loadedOf(modules, [...heavy, '/tsx/'])).toEqual([]);
    expect(modules.filter((url) => inBundle(url) && /\/_chunks\/(?!chunk-)/.test(url))).toEqual([]);
    // The CLI's CommonJS packages each as one file of the bundle's node_modules, required.
    for (const name of ['commander', 'cli-table3', 'picocolors'])
      expect(modules.filter((url) => url.includes(`/node_modules/${name}/`))).toEqual([
        expect.stringMatching(
          new RegExp(`/\\.cache/fstore-cli/[^/]+/node_modules/${name}/index\\.cjs$`),
        ),
      ]);
  });

  it('a local fstore training-set loads its command chunk, its compiled definitions and DuckDB, and neither tsx nor the AWS SDK', async () => {
    const dataDir = await makeTempDir('startup');
    const { code, modules } = await modulesLoadedBy(
      [
        '--data-dir',
        dataDir,
        'training-set',
        '--service',
        'churn_v1',
        '--entities',
        path.join(dataDir, 'no-such-entities.csv'),
        '--out',
        path.join(dataDir, 'out.parquet'),
      ],
      'bundle',
    );
    expect(code).toBe(1);
    const chunks = modules
      .filter((url) => inBundle(url) && /\/_chunks\/(?!chunk-)/.test(url))
      .map((url) => path.basename(url).replace(/-[A-Z0-9]+\.mjs$/, ''));
    expect(chunks).toEqual(['training-set']);
    expect(loadedOf(modules, ['@duckdb/', '/tsx/', '@aws-sdk/'])).toEqual(['@duckdb/']);
    // DuckDB's node API as one file from the bundle's own node_modules, not its ~180 files.
    expect(modules.filter((url) => url.includes('/@duckdb/node-api/'))).toEqual([
      expect.stringMatching(
        /\/\.cache\/fstore-cli\/[^/]+\/node_modules\/@duckdb\/node-api\/index\.cjs$/,
      ),
    ]);
    // zod compiled into the bundle: not its ~60 modules, each resolved and linked by Node.
    expect(modules.filter((url) => url.includes('/node_modules/zod/'))).toEqual([]);
    expect(modules.some((url) => url.includes('/node_modules/.cache/fstore-defs/'))).toBe(true);
    expect(modules.filter((url) => url.includes('/feature-defs/'))).toEqual([]);
    expect(projectSources(modules)).toEqual([]);
  });

  it("requires DuckDB's node API (CommonJS) where it imported it: Node's ESM loader would pre-parse each of its files for export names", async () => {
    let dir = freshCliBundle().dir;
    if (!dir) dir = await buildCliBundle();
    const chunks = readdirSync(dir, { recursive: true })
      .map(String)
      .filter((file) => file.endsWith('.mjs'))
      .map((file) => readFileSync(path.join(dir, file), 'utf8'));
    expect(chunks.filter((text) => /from\s*["']@duckdb\/node-api["']/.test(text))).toEqual([]);
    expect(
      chunks.filter((text) => text.includes('createRequire(import.meta.url)("@duckdb/node-api")')),
    ).toHaveLength(1);
  });

  it("user definitions get the bundle's lib/definitions, so their DefinitionError is reported as one", async () => {
    const defs = await writeDefs({
      'entities.ts': `import { defineEntity } from 'fstore:definitions';
export const customer = defineEntity({ name: 'Customer', joinKeys: [{ name: 'customer_id', type: 'string' }] });
`,
    });
    const { code, modules, stderr } = await modulesLoadedBy(['--defs', defs, 'validate'], 'bundle');
    expect(code).toBe(1);
    expect(stderr).toContain('invalid definition');
    expect(stderr).toContain('entities.ts:2: entity "Customer" name:');
    expect(stderr).not.toContain('failed to load');
    expect(loadsFromBundle(modules, 'lib/definitions/index.mjs')).toBe(true);
    expect(
      modules.filter((url) => url.includes('/lib/definitions/') && url.endsWith('.ts')),
    ).toEqual([]);
  });
});
