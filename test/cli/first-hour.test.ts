import { existsSync } from 'node:fs';
import { cp, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTempDir, repoRoot, runFstore, spawnFstore, writeDefs } from '../helpers/run-fstore.ts';

const ready = /lookup API ready on (http:\/\/127\.0\.0\.1:(\d+))/;

/** A copy of the example feature-defs/ that may be edited, importing the DSL by absolute path. */
async function copyOfExampleDefs(): Promise<string> {
  const dir = await makeTempDir('first-hour-defs');
  await cp(path.join(repoRoot, 'feature-defs'), dir, { recursive: true });
  const dsl = path.join(repoRoot, 'lib', 'definitions', 'index.ts');
  for (const name of await readdir(dir)) {
    if (!name.endsWith('.ts')) continue;
    const file = path.join(dir, name);
    await writeFile(
      file,
      (await readFile(file, 'utf8')).replaceAll('../lib/definitions/index.ts', dsl),
    );
  }
  await writeFile(path.join(dir, 'package.json'), '{ "type": "module" }\n');
  return dir;
}

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('the first hour with the CLI (issue 14 §3)', () => {
  it('prints no AWS SDK Node-version warning from a command that builds an SDK client, and still prints other warnings', async () => {
    const dataDir = await makeTempDir('first-hour-warning');
    // A preload emitting an ordinary warning right after the CLI installs its filter (its
    // process.on('warning', ...)). A timer here raced the command: `status` can end first.
    const preload = path.join(dataDir, 'other-warning.cjs');
    await writeFile(
      preload,
      [
        'const on = process.on;',
        'process.on = function (event, listener) {',
        '  const result = on.call(this, event, listener);',
        "  if (event === 'warning') {",
        '    process.on = on;',
        "    setImmediate(() => process.emitWarning('an unrelated warning', { code: 'FSTORE_TEST' }));",
        '  }',
        '  return result;',
        '};',
        '',
      ].join('\n'),
    );
    const result = await runFstore(['--data-dir', dataDir, 'status'], {
      env: { NODE_OPTIONS: `--require ${preload}` },
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).not.toMatch(/NodeVersionSupportWarning|require node >=22/);
    expect(result.stderr).toContain('[FSTORE_TEST] Warning: an unrelated warning');
  }, 60_000);

  it('fstore get without --url reads through a running start that serves on another port than 8080', async () => {
    const dataDir = await makeTempDir('first-hour-get');
    const server = spawnFstore(['--data-dir', dataDir, 'start', '--port', '0']);
    try {
      const [, url, port] = await server.waitFor(ready, 120_000);
      expect(port).not.toBe('8080');
      const viaCli = await runFstore([
        '--data-dir',
        dataDir,
        'get',
        '--service',
        'churn_online',
        '--entity',
        'customer_id=C000001',
        '--json',
      ]);
      expect(viaCli.code, viaCli.stderr).toBe(0);
      const response = await fetch(`${url}/v1/features/churn_online`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ entities: [{ customer_id: 'C000001' }] }),
      });
      const served = (await response.json()) as {
        results: { features: Record<string, { status: string; value: unknown }> }[];
      };
      const [first] = JSON.parse(viaCli.stdout) as {
        features: Record<string, { status: string; value: unknown }>;
      }[];
      expect(first?.features.plan?.status).toBe('PRESENT');
      expect(first?.features.plan?.value).toBe(served.results[0]?.features.plan?.value);
    } finally {
      await server.stop('SIGTERM');
    }
  }, 180_000);

  it('a running start serves the registry fstore apply records, without a restart, and never a damaged registry file', async () => {
    const dataDir = await makeTempDir('first-hour-apply');
    const defs = await copyOfExampleDefs();
    const server = spawnFstore(['--data-dir', dataDir, '--defs', defs, 'start', '--port', '0']);
    try {
      const [, url] = await server.waitFor(ready, 180_000);
      const health = async () =>
        ((await (await fetch(`${url}/v1/health`)).json()) as { registryVersion: string })
          .registryVersion;
      const before = await health();

      // A half-written registry file is refused with the reason; the old registry stays served.
      const registryFile = path.join(dataDir, 'local', 'registry.json');
      const applied = await readFile(registryFile, 'utf8');
      await writeFile(registryFile, applied.slice(0, applied.length / 2));
      await until(
        async () => (/is not served: .*not valid JSON/.test(server.stderr()) ? true : undefined),
        60_000,
      );
      expect(server.stderr()).toContain(`still serving registry ${before}`);
      expect(await health()).toBe(before);
      await writeFile(registryFile, applied);

      await writeFile(
        path.join(defs, 'plan_only.ts'),
        [
          `import { defineFeatureService } from '${path.join(repoRoot, 'lib', 'definitions', 'index.ts')}';`,
          "import { customerProfile } from './views.ts';",
          "export const planOnly = defineFeatureService({ name: 'plan_only', features: [customerProfile.select(['plan'])] });",
          '',
        ].join('\n'),
      );
      const apply = await runFstore(['--data-dir', dataDir, '--defs', defs, 'apply']);
      expect(apply.code, apply.stderr).toBe(0);
      const after = apply.stdout.match(/Applied registry (\w+)/)?.[1];
      expect(after).toBeDefined();
      expect(after).not.toBe(before);

      const [, served] = await server.waitFor(/serving registry (\w+)/, 60_000);
      expect(served).toBe(after);
      expect(await health()).toBe(after);
      const response = await fetch(`${url}/v1/features/plan_only`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ entities: [{ customer_id: 'C000001' }] }),
      });
      expect(response.status).toBe(200);
      const body = (await response.json()) as {
        results: { features: Record<string, { status: string }> }[];
      };
      expect(body.results[0]?.features.plan?.status).toBe('PRESENT');
    } finally {
      await server.stop('SIGTERM');
    }
  }, 420_000);

  it('fstore training-set warns, naming the data range, about each view that matched no entity row', async () => {
    const dataDir = await makeTempDir('first-hour-unmatched');
    const started = await runFstore(['--data-dir', dataDir, 'start', '--no-serve']);
    expect(started.code, started.stderr).toBe(0);
    const tooEarly = path.join(dataDir, 'too-early.csv');
    await writeFile(
      tooEarly,
      'customer_id,event_timestamp,churned\nC000001,2020-01-15T12:00:00Z,1\nC000002,2020-01-20T08:30:00Z,0\n',
    );
    const out = path.join(dataDir, 'out.parquet');
    const unmatched = await runFstore([
      '--data-dir',
      dataDir,
      'training-set',
      '--service',
      'churn_v1',
      '--entities',
      tooEarly,
      '--out',
      out,
    ]);
    expect(unmatched.code, unmatched.stderr).toBe(0);
    const iso = '\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z';
    for (const view of ['customer_profile', 'customer_contract', 'last_order'])
      expect(unmatched.stderr).toMatch(
        new RegExp(
          `warning: view ${view} matched 0 of 2 entity rows: check the entity timestamps against the data range ${iso}\\.\\.${iso} \\(entity timestamps 2020-01-15T12:00:00\\.000000Z\\.\\.2020-01-20T08:30:00\\.000000Z\\)`,
        ),
      );

    const demoEntities = path.join(dataDir, 'local', 'demo-data', 'entities.csv');
    const matched = await runFstore([
      '--data-dir',
      dataDir,
      'training-set',
      '--service',
      'churn_v1',
      '--entities',
      demoEntities,
      '--out',
      out,
    ]);
    expect(matched.code, matched.stderr).toBe(0);
    expect(matched.stderr).not.toContain('warning:');
  }, 120_000);

  it('fstore drift writes its HTML report under <data-dir>/<env>/reports/, not into the working directory, and says where', async () => {
    const defs = await writeDefs({
      'defs.ts': `import { defineEntity, defineFeatureView, defineSource } from 'fstore:definitions';
const customer = defineEntity({ name: 'customer', joinKeys: [{ name: 'customer_id', type: 'string' }] });
const profiles = defineSource({ name: 'profiles', schema: { customer_id: 'string', charges: 'float64', event_ts: 'timestamp' }, timestampField: 'event_ts' });
export const profile = defineFeatureView({ name: 'profile', entities: [customer], source: profiles, features: { charges: 'float64' } });
`,
    });
    const dataDir = await makeTempDir('first-hour-drift');
    const cwd = await makeTempDir('first-hour-drift-cwd');
    const rows = path.join(dataDir, 'rows.jsonl');
    await writeFile(
      rows,
      Array.from({ length: 40 }, (_, i) =>
        JSON.stringify({
          customer_id: `C${i}`,
          charges: i,
          event_ts: new Date(Date.UTC(2026, i < 20 ? 0 : 1, 1 + (i % 20))).toISOString(),
        }),
      ).join('\n'),
    );
    const fstore = (...args: string[]) =>
      runFstore(['--defs', defs, '--data-dir', dataDir, ...args], { cwd });
    expect((await fstore('ingest', '--source', 'profiles', '--file', rows)).code).toBe(0);
    const drift = await fstore(
      'drift',
      '--view',
      'profile',
      '--baseline',
      '2026-01-01..2026-01-31',
      '--current',
      '2026-02-01..2026-02-28',
    );
    expect(drift.code, drift.stderr).toBe(0);
    const expected = path.join(dataDir, 'local', 'reports', 'drift-profile.html');
    expect(drift.stdout).toContain(`report: ${expected}`);
    expect(existsSync(expected)).toBe(true);
    expect(await readdir(cwd)).toEqual([]);
  }, 60_000);

  it('a resumed materialization shows its progress against one total, known up front, that never moves', async () => {
    const dataDir = await makeTempDir('first-hour-progress');
    const prepared = await runFstore(['--data-dir', dataDir, 'start', '--no-serve']);
    expect(prepared.code, prepared.stderr).toBe(0);
    const args = ['--data-dir', dataDir, 'materialize', '--view', 'customer_profile'];
    const first = spawnFstore([...args, '--chunk-rows', '300'], {
      env: { FSTORE_PAUSE_AT: 'materialize:after-checkpoint' },
    });
    await first.waitFor(/fstore-pause: materialize:after-checkpoint/);
    expect(await first.stop('SIGTERM')).toBe(143);

    const resumed = await runFstore([...args, '--chunk-rows', '100']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const lines = [...resumed.stderr.matchAll(/^customer_profile: (\d+)\/(\d+) \(\d+%\)$/gm)];
    expect(lines.length).toBeGreaterThan(1);
    const totals = new Set(lines.map((line) => line[2]));
    expect([...totals]).toEqual(['1000']);
    expect(lines.at(-1)?.[1]).toBe('1000');
  }, 120_000);

  it('fstore ingest shows the running-totals phase only for a source an aggregation view reads', async () => {
    const dataDir = await makeTempDir('first-hour-ingest');
    const demo = path.join(dataDir, 'demo');
    const fstore = (...args: string[]) => runFstore(['--data-dir', dataDir, ...args]);
    const generated = await fstore(
      'demo-data',
      '--customers',
      '50',
      '--days',
      '10',
      '--end',
      '2026-06-01',
      '--format',
      'csv',
      '--out',
      demo,
    );
    expect(generated.code, generated.stderr).toBe(0);

    const profiles = await fstore(
      'ingest',
      '--source',
      'customer_profiles',
      '--file',
      path.join(demo, 'customer_profiles.csv'),
    );
    expect(profiles.code, profiles.stderr).toBe(0);
    expect(profiles.stderr).not.toContain('running totals');

    // order_stats aggregates orders.
    const orders = await fstore(
      'ingest',
      '--source',
      'orders',
      '--file',
      path.join(demo, 'orders.csv'),
    );
    expect(orders.code, orders.stderr).toBe(0);
    expect(orders.stderr).toContain('building running totals of "orders"');
  }, 60_000);

  it('fstore start --help says what start does, step by step', async () => {
    const help = await runFstore(['start', '--help']);
    expect(help.code).toBe(0);
    const text = help.stdout.replace(/\s+/g, ' ');
    for (const step of ['npm start', 'apply', 'demo data', 'materialize', 'serve the lookup API'])
      expect(text).toContain(step);
    expect(text).toMatch(/--no-serve .*no materialization, no server/);
  }, 30_000);

  it('fstore training-set --out x.csv writes timestamps as ISO 8601 in UTC with Z, microseconds kept', async () => {
    const dataDir = await makeTempDir('first-hour-csv');
    const started = await runFstore(['--data-dir', dataDir, 'start', '--no-serve']);
    expect(started.code, started.stderr).toBe(0);
    const entities = path.join(dataDir, 'entities.csv');
    await writeFile(
      entities,
      'customer_id,event_timestamp\nC000001,2026-01-15T12:00:00.000123Z\nC000002,2026-01-20T08:30:00.5+01:00\n',
    );
    const out = path.join(dataDir, 'out.csv');
    const result = await runFstore([
      '--data-dir',
      dataDir,
      'training-set',
      '--features',
      'customer_profile:plan',
      '--entities',
      entities,
      '--out',
      out,
    ]);
    expect(result.code, result.stderr).toBe(0);
    const [header, ...rows] = (await readFile(out, 'utf8')).trim().split('\n');
    expect(header).toBe('customer_id,event_timestamp,plan');
    expect(rows.map((row) => row.split(',').slice(0, 2).join(','))).toEqual([
      'C000001,2026-01-15T12:00:00.000123Z',
      'C000002,2026-01-20T07:30:00.500000Z',
    ]);
  }, 60_000);
});
