import { readdirSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildCliBundle, freshCliBundle } from '../../bin/cli-bundle.mjs';
import { repoRoot, runFstore, writeDefs } from '../helpers/run-fstore.ts';

const cacheRoot = path.join(repoRoot, 'node_modules', '.cache', 'fstore-defs');

/** Runs the CLI from its bundle (the path that compiles definitions), rebuilding a stale bundle. */
async function fromBundle(args: readonly string[]) {
  for (let attempt = 1; ; attempt++) {
    if (!freshCliBundle().dir) await buildCliBundle();
    const result = await runFstore(args, { env: { FSTORE_CLI_SOURCES: '0' } });
    if (result.stderr.includes('running from the TypeScript sources') && attempt < 3) continue;
    expect(result.stderr).not.toContain('running from the TypeScript sources');
    return result;
  }
}

/** The cache folders built for the definitions folder `root`. */
function buildsOf(root: string): { dir: string; builtAtMs: number }[] {
  return readdirSync(cacheRoot).flatMap((name) => {
    const manifest = path.join(cacheRoot, name, 'manifest.json');
    try {
      const { root: builtFor } = JSON.parse(readFileSync(manifest, 'utf8')) as { root: string };
      return builtFor === root ? [{ dir: name, builtAtMs: statSync(manifest).mtimeMs }] : [];
    } catch {
      return [];
    }
  });
}

const base = `import { defineEntity, defineSource } from 'fstore:definitions';
import { chargeType } from './_columns.ts';
export const customer = defineEntity({ name: 'customer', joinKeys: [{ name: 'customer_id', type: 'string' }] });
export const profiles = defineSource({ name: 'profiles', schema: { customer_id: 'string', charges: chargeType, event_ts: 'timestamp' }, timestampField: 'event_ts' });
`;
const view = (name: string) => `import { defineFeatureView } from 'fstore:definitions';
import { chargeType } from './_columns.ts';
import { customer, profiles } from './base.ts';
export const v = defineFeatureView({ name: '${name}', entities: [customer], source: profiles, features: { charges: chargeType } });
`;

describe('feature-defs compiled into a content-keyed cache (CLI from its bundle)', () => {
  it('reuses the compiled definitions while nothing changed, and recompiles a file edited since', async () => {
    const defs = await writeDefs({
      '_columns.ts': "export const chargeType = 'float64' as const;\n",
      'base.ts': base,
      'a.ts': view('profile_a'),
    });
    const first = await fromBundle(['--defs', defs, 'list', '--json']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('profile_a');
    const [built] = buildsOf(defs);
    expect(built).toBeDefined();

    const again = await fromBundle(['--defs', defs, 'list', '--json']);
    expect(again.code).toBe(0);
    expect(buildsOf(defs)).toEqual([built]);

    await writeDefs({ 'a.ts': view('profile_renamed') }, defs);
    const edited = await fromBundle(['--defs', defs, 'list', '--json']);
    expect(edited.code, edited.stderr).toBe(0);
    expect(edited.stdout).toContain('profile_renamed');
    expect(edited.stdout).not.toContain('profile_a');
  });

  it('recompiles when a local module the definitions import changes, though no definitions file did', async () => {
    const defs = await writeDefs({
      '_columns.ts': "export const chargeType = 'float64' as const;\n",
      'base.ts': base,
      'a.ts': view('profile'),
    });
    const before = await fromBundle(['--defs', defs, 'describe', 'profile']);
    expect(before.stdout).toMatch(/charges\s.*float64/);
    await writeDefs({ '_columns.ts': "export const chargeType = 'int64' as const;\n" }, defs);
    const after = await fromBundle(['--defs', defs, 'describe', 'profile']);
    expect(after.code, after.stderr).toBe(0);
    expect(after.stdout).toMatch(/charges\s.*int64/);
  });

  it('compiles, caches and reuses definitions whose files are dated hours ahead of the clock', async () => {
    const defs = await writeDefs({
      '_columns.ts': "export const chargeType = 'float64' as const;\n",
      'base.ts': base,
      'a.ts': view('profile_future'),
    });
    const twoHoursAhead = new Date(Date.now() + 2 * 60 * 60 * 1000);
    for (const file of ['_columns.ts', 'base.ts', 'a.ts'])
      utimesSync(path.join(defs, file), twoHoursAhead, twoHoursAhead);
    const first = await fromBundle(['--defs', defs, 'list', '--json']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('profile_future');
    const [built] = buildsOf(defs);
    expect(built).toBeDefined();
    const again = await fromBundle(['--defs', defs, 'list', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(buildsOf(defs)).toEqual([built]);
  });

  it('recompiles when a package the definitions import is upgraded to another entry file', async () => {
    const packageFiles = (main: string, type: string) => ({
      'node_modules/columns-pkg/package.json': JSON.stringify({
        name: 'columns-pkg',
        type: 'module',
        main,
      }),
      [`node_modules/columns-pkg/${main}`]: `export const chargeType = '${type}';\n`,
    });
    const defs = await writeDefs({
      ...packageFiles('old.js', 'float64'),
      'base.ts': base.replace("'./_columns.ts'", "'columns-pkg'"),
      'a.ts': view('profile').replace("'./_columns.ts'", "'columns-pkg'"),
    });
    const before = await fromBundle(['--defs', defs, 'describe', 'profile']);
    expect(before.code, before.stderr).toBe(0);
    expect(before.stdout).toMatch(/charges\s.*float64/);
    rmSync(path.join(defs, 'node_modules/columns-pkg/old.js'));
    await writeDefs(packageFiles('new.js', 'int64'), defs);
    const after = await fromBundle(['--defs', defs, 'describe', 'profile']);
    expect(after.code, after.stderr).toBe(0);
    expect(after.stdout).toMatch(/charges\s.*int64/);
  });

  it('gives definition files that import one module the same objects (an entity shared by two views is one entity)', async () => {
    const defs = await writeDefs({
      '_columns.ts': "export const chargeType = 'float64' as const;\n",
      'base.ts': base,
      'a.ts': view('profile_a'),
      'b.ts': view('profile_b'),
    });
    const result = await fromBundle(['--defs', defs, 'validate']);
    expect(result.code, result.stderr).toBe(0);
  });

  it('names the definitions file and line of a syntax error, not the cache', async () => {
    const defs = await writeDefs({
      'base.ts': base.replace("from './_columns.ts'", "from './_columns.ts';\nconst = 1"),
      '_columns.ts': "export const chargeType = 'float64' as const;\n",
    });
    const result = await fromBundle(['--defs', defs, 'validate']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/error: base\.ts failed to load: base\.ts:3:\d+: ERROR: /);
    expect(result.stderr).not.toContain('.cache/fstore-defs');
  });

  it('names the file and line a definitions module threw at, in the error and the --verbose stack', async () => {
    const defs = await writeDefs({
      'throws.ts': "export const a = 1;\n\nthrow new Error('cannot reach the schema service');\n",
    });
    const result = await fromBundle(['--defs', defs, '--verbose', 'validate']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'error: throws.ts failed to load: cannot reach the schema service',
    );
    expect(result.stderr).toContain(`${path.join(defs, 'throws.ts')}:3:`);
    expect(result.stderr).not.toContain('.cache/fstore-defs');
  });

  it("names a misspelled name's file with the closest name written there", async () => {
    const defs = await writeDefs({
      'base.ts': `${base}export const again = custmer;\n`,
      '_columns.ts': "export const chargeType = 'float64' as const;\n",
    });
    const result = await fromBundle(['--defs', defs, 'validate']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('base.ts failed to load');
    expect(result.stderr).toContain('did you mean "customer"');
  });
});
