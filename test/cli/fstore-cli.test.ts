import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, repoRoot, runFstore, writeDefs } from '../helpers/run-fstore.ts';

const exampleDefs = path.join(repoRoot, 'feature-defs');

const viewFile = (
  options: { ageType?: string; description?: string; withTenure?: boolean } = {},
) => `
import { defineEntity, defineFeatureService, defineFeatureView, defineSource } from 'fstore:definitions';
export const customer = defineEntity({ name: 'customer', joinKeys: [{ name: 'customer_id', type: 'string' }] });
export const profiles = defineSource({
  name: 'profiles',
  schema: { customer_id: 'string', age: '${options.ageType ?? 'int32'}', tenure: 'int32', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
export const profile = defineFeatureView({
  name: 'profile', entities: [customer], source: profiles,
  features: { age: '${options.ageType ?? 'int32'}'${options.withTenure === false ? '' : ", tenure: 'int32'"} },
  online: true, schedule: 'rate(1 hour)', ttl: '30d', description: '${options.description ?? 'profile'}',
});
export const model = defineFeatureService({ name: 'model', features: [profile.select(['age'])] });
`;

describe('fstore CLI', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await makeTempDir('data');
  });

  it('validates the example feature repository and prints a summary', async () => {
    const result = await runFstore(['validate', '--defs', exampleDefs]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /is valid: 1 entity, 3 sources, 4 feature views \(4 online\), 2 feature services\. Registry version [0-9a-f]{16}/,
    );
  });

  it('writes the compiled registry with validate --out, byte-identical across runs', async () => {
    const dir = await makeTempDir('out');
    const first = path.join(dir, 'a.json');
    const second = path.join(dir, 'b.json');
    expect((await runFstore(['validate', '--out', first])).code).toBe(0);
    expect((await runFstore(['validate', '--out', second])).code).toBe(0);
    const bytes = await readFile(first, 'utf8');
    expect(bytes).toEqual(await readFile(second, 'utf8'));
    expect(JSON.parse(bytes).featureViews.map((v: { name: string }) => v.name)).toEqual([
      'customer_contract',
      'customer_profile',
      'last_order',
      'order_stats',
    ]);
  });

  it('lists views and services as tables, and features with their types', async () => {
    const result = await runFstore(['list']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Views (4)');
    expect(result.stdout).toContain('Services (2)');
    expect(result.stdout).toMatch(/churn_online .*customer_profile, customer_contract, last_order/);
    const features = await runFstore(['list', 'features', '--json']);
    const parsed = JSON.parse(features.stdout) as {
      features: { fullName: string; type: string }[];
    };
    expect(parsed.features).toContainEqual(
      expect.objectContaining({ fullName: 'customer_profile__monthly_charges', type: 'float64' }),
    );
  });

  it('rejects an unknown list kind as a usage error with exit code 2', async () => {
    const result = await runFstore(['list', 'widgets']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown kind "widgets"');
    expect(result.stderr).toContain(
      'hint: use one of views, services, features, entities, sources',
    );
  });

  it('describes a view with its features, version and the services that use it', async () => {
    const result = await runFstore(['describe', 'customer_profile']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('feature view customer_profile');
    expect(result.stdout).toMatch(/used by services:\s+churn_online, churn_v1/);
    expect(result.stdout).toMatch(/monthly_charges .*float64/);
  });

  it('describes a single feature by its full name', async () => {
    const result = await runFstore(['describe', 'last_order__amount', '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual([
      expect.objectContaining({
        kind: 'feature',
        view: 'last_order',
        name: 'amount',
        type: 'float64',
        usedBy: ['churn_online', 'churn_v1'],
      }),
    ]);
  });

  it('suggests the closest name when describe finds nothing', async () => {
    const result = await runFstore(['describe', 'custmer_profile']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('error: nothing named "custmer_profile"');
    expect(result.stderr).toContain('did you mean "customer_profile"');
  });

  it('refuses an unknown command and option with exit code 2', async () => {
    expect((await runFstore(['frobnicate'])).code).toBe(2);
    const option = await runFstore(['validate', '--frob']);
    expect(option.code).toBe(2);
    expect(option.stderr).toContain("unknown option '--frob'");
  });

  it('prints help for every command', async () => {
    for (const command of ['validate', 'list', 'describe', 'plan', 'apply']) {
      const result = await runFstore([command, '--help']);
      expect(result.code, command).toBe(0);
      expect(result.stdout, command).toContain(`Usage: fstore ${command}`);
    }
  });

  it('refuses an invalid environment name as a usage error', async () => {
    const result = await runFstore(['--env', 'Prod!', 'validate']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--env "Prod!" is not a valid environment name');
  });

  it('plans, applies, and then plans no changes for a local environment', async () => {
    const defs = await writeDefs({ 'defs.ts': viewFile() });
    const args = ['--defs', defs, '--data-dir', dataDir, '--env', 'local-plan'];
    const first = await runFstore([...args, 'plan']);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('+ feature view profile');
    const applied = await runFstore([...args, 'apply']);
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain('Applied registry');
    const stored = JSON.parse(
      await readFile(path.join(dataDir, 'local-plan', 'registry.json'), 'utf8'),
    );
    expect(stored.featureViews[0].name).toBe('profile');
    const again = await runFstore([...args, 'plan']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('No changes');
  });

  it('exits 0 on a metadata-only change and 1 on a breaking one unless --allow-breaking', async () => {
    const dir = await makeTempDir('defs');
    const args = ['--defs', dir, '--data-dir', dataDir, '--env', 'local-breaking'];
    await writeDefs({ 'defs.ts': viewFile() }, dir);
    expect((await runFstore([...args, 'apply'])).code).toBe(0);

    await writeDefs({ 'defs.ts': viewFile({ description: 'reworded' }) }, dir);
    const metadata = await runFstore([...args, 'plan']);
    expect(metadata.code).toBe(0);
    expect(metadata.stdout).toMatch(/~ description: profile → reworded\s+metadata-only/);

    await writeDefs({ 'defs.ts': viewFile({ ageType: 'int64' }) }, dir);
    const breaking = await runFstore([...args, 'plan']);
    expect(breaking.code).toBe(1);
    expect(breaking.stdout).toMatch(/features\.age\.type: int32 → int64\s+breaking/);
    expect(breaking.stderr).toContain('breaking change');
    expect(breaking.stderr).toContain('--allow-breaking');
    const refused = await runFstore([...args, 'apply']);
    expect(refused.code).toBe(1);
    const stored = JSON.parse(
      await readFile(path.join(dataDir, 'local-breaking', 'registry.json'), 'utf8'),
    );
    expect(stored.featureViews[0].features[0].type).toBe('int32');

    expect((await runFstore([...args, 'plan', '--allow-breaking'])).code).toBe(0);
    expect((await runFstore([...args, 'apply', '--allow-breaking'])).code).toBe(0);
  });

  it('marks removing a feature a service uses as breaking, and an unused one as safe', async () => {
    const dir = await makeTempDir('defs');
    const args = ['--defs', dir, '--data-dir', dataDir, '--env', 'local-removal'];
    await writeDefs({ 'defs.ts': viewFile() }, dir);
    expect((await runFstore([...args, 'apply'])).code).toBe(0);
    await writeDefs({ 'defs.ts': viewFile({ withTenure: false }) }, dir);
    const plan = await runFstore([...args, 'plan', '--json']);
    expect(plan.code).toBe(0);
    const parsed = JSON.parse(plan.stdout);
    expect(parsed.changes[0].fields).toContainEqual(
      expect.objectContaining({ field: 'features.tenure', action: 'remove', level: 'safe' }),
    );
  });

  it('compares with another registry file given by --against', async () => {
    const dir = await makeTempDir('against');
    const defs = await writeDefs({ 'defs.ts': viewFile() });
    const file = path.join(dir, 'deployed.json');
    expect((await runFstore(['--defs', defs, 'validate', '--out', file])).code).toBe(0);
    await writeDefs({ 'defs.ts': viewFile({ ageType: 'int64' }) }, defs);
    const plan = await runFstore(['--defs', defs, '--env', 'prod', 'plan', '--against', file]);
    expect(plan.code).toBe(1);
    expect(plan.stdout).toContain('features.age.type: int32 → int64');
    const missing = await runFstore([
      '--defs',
      defs,
      'plan',
      '--against',
      path.join(dir, 'nope.json'),
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('does not exist');
  });

  it('refuses to apply an AWS environment and points at cdk deploy', async () => {
    const result = await runFstore(['--env', 'dev', '--data-dir', dataDir, 'apply']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('npx cdk deploy -c env=dev');
  });

  it('reports invalid definitions with file, line, definition, field and fix, and no stack trace', async () => {
    const defs = await writeDefs({
      'bad.ts': `
import { defineEntity } from 'fstore:definitions';
export const e = defineEntity({ name: 'Customer', joinKeys: [{ name: 'customer_id', type: 'float64' }] } as never);
`,
    });
    const result = await runFstore(['--defs', defs, 'validate']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('error: 2 invalid definitions');
    expect(result.stderr).toContain(
      'bad.ts:3: entity "Customer" name: "Customer" is not a valid identifier',
    );
    expect(result.stderr).toContain('fix: rename it, for example "customer"');
    expect(result.stderr).toContain(
      'joinKeys[customer_id].type: join keys must be string, int32, int64, got "float64"',
    );
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('reports a syntax error as one line with its location, and the stack only with --verbose', async () => {
    const defs = await writeDefs({ 'broken.ts': 'export const x = ;\n' });
    const result = await runFstore(['--defs', defs, 'validate']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/error: broken\.ts failed to load: broken\.ts:1:\d+: ERROR: /);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    const verbose = await runFstore(['--defs', defs, '--verbose', 'validate']);
    expect(verbose.stderr).toMatch(/\n\s+at /);
  });

  it('reports an error thrown by a definitions file without a stack trace', async () => {
    const defs = await writeDefs({
      'throws.ts': "throw new Error('cannot reach the schema service');\n",
    });
    const result = await runFstore(['--defs', defs, 'validate']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'error: throws.ts failed to load: cannot reach the schema service',
    );
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('names both files when two views share a name', async () => {
    const view = (description: string) => `
import { customer, profiles } from './base.ts';
import { defineFeatureView } from 'fstore:definitions';
export const v = defineFeatureView({ name: 'profile', entities: [customer], source: profiles, features: { age: 'int32' }, description: '${description}' });
`;
    const defs = await writeDefs({
      'base.ts': `
import { defineEntity, defineSource } from 'fstore:definitions';
export const customer = defineEntity({ name: 'customer', joinKeys: [{ name: 'customer_id', type: 'string' }] });
export const profiles = defineSource({ name: 'profiles', schema: { customer_id: 'string', age: 'int32', event_ts: 'timestamp' }, timestampField: 'event_ts' });
`,
      'a.ts': view('one'),
      'b.ts': view('two'),
    });
    const result = await runFstore(['--defs', defs, 'validate']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'feature view "profile" name: is defined twice (a.ts and b.ts)',
    );
  });

  it('explains a missing definitions folder', async () => {
    const result = await runFstore(['--defs', '/nonexistent/defs', 'validate']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('definitions folder /nonexistent/defs does not exist');
    expect(result.stderr).toContain('--defs');
  });
});
