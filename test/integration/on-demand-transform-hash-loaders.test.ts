import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { buildCliBundle, freshCliBundle } from '../../bin/cli-bundle.mjs';
import { makeTempDir, repoRoot, runFstore } from '../helpers/run-fstore.ts';

const run = promisify(execFile);
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

// The CLI from its bundle compiles feature-defs with esbuild; from its sources it imports them
// through tsx's hooks. Each is asked for, whatever FSTORE_CLI_SOURCES the suite runs with (the
// coverage run sets it to 1).
const cliModes = [
  { mode: 'bundle', sources: '0' },
  { mode: 'TypeScript sources', sources: '1' },
] as const;

describe('the registry of a definitions folder with an on-demand view (no package.json)', () => {
  it.each(cliModes)(
    'has the same transformHash and version from the CLI from its $mode (fstore validate) and from the CDK app’s loader (tsx)',
    async ({ mode, sources }) => {
      const dir = await makeTempDir('rev-od-hash');
      dirs.push(dir);
      const lib = path.join(repoRoot, 'lib/definitions/index.ts');
      await writeFile(
        path.join(dir, 'defs.ts'),
        `import { defineEntity, defineFeatureService, defineFeatureView, defineOnDemandView, defineSource } from ${JSON.stringify(lib)};
const customer = defineEntity({ name: 'customer', joinKeys: [{ name: 'customer_id', type: 'string' }] });
const profiles = defineSource({ name: 'profiles', schema: { customer_id: 'string', monthly: 'float64', event_ts: 'timestamp' }, timestampField: 'event_ts' });
export const profile = defineFeatureView({ name: 'profile', entities: [customer], source: profiles, features: { monthly: 'float64' }, online: true, schedule: 'rate(1 hour)' });
export const ratio = defineOnDemandView({
  name: 'spend_ratio',
  request: { basket: 'float64' },
  inputs: [profile.select(['monthly'])],
  features: { ratio: 'float64' },
  transform: (row: { basket: number; monthly: number | null }) => ({ ratio: row.monthly ? row.basket / row.monthly : null }),
});
export const checkout = defineFeatureService({ name: 'checkout', features: [ratio] });
`,
      );
      // The CLI as a user runs it (npx fstore), from the mode asked for.
      if (mode === 'bundle' && !freshCliBundle().dir) await buildCliBundle();
      const cliOut = path.join(dir, 'cli-registry.json');
      const cli = await runFstore(['validate', '--defs', path.join(dir), '--out', cliOut], {
        env: { FSTORE_CLI_SOURCES: sources },
      });
      expect(cli.code, cli.stderr).toBe(0);
      // A bundle older than the sources would fall back to tsx, and the case would prove nothing.
      if (mode === 'bundle')
        expect(cli.stderr).not.toContain('running from the TypeScript sources');
      const fromCli = JSON.parse(await readFile(cliOut, 'utf8'));

      // The CDK app's way (cdk.json: npx tsx bin/app.ts → loadDefinitions without a compiler).
      const scriptDir = await makeTempDir('rev-od-hash-script');
      dirs.push(scriptDir);
      const script = path.join(scriptDir, 'cdk-like.mts');
      await writeFile(
        script,
        `import { compileRegistry, loadDefinitions } from ${JSON.stringify(path.join(repoRoot, 'lib/registry/index.ts'))};
const r = compileRegistry(await loadDefinitions(${JSON.stringify(path.join(dir))}));
process.stdout.write(JSON.stringify(r));`,
      );
      const { stdout } = await run(path.join(repoRoot, 'node_modules/.bin/tsx'), [script], {
        cwd: repoRoot,
      });
      const fromCdk = JSON.parse(stdout);

      expect(fromCli.onDemandViews[0].transformHash).toBe(fromCdk.onDemandViews[0].transformHash);
      expect(fromCli.version).toBe(fromCdk.version);
    },
    120_000,
  );
});
