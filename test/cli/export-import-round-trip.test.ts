import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTempDir, runFstore } from '../helpers/run-fstore.ts';

const sources = ['orders', 'customer_profiles', 'customer_contracts'] as const;

describe('fstore export and import, as a user runs them', () => {
  it('a restored environment gives the same training set and, after materialize, the same lookups', async () => {
    const dataDir = await makeTempDir('backup-cli');
    const work = await makeTempDir('backup-cli-files');
    const fstore = async (...args: string[]) => {
      const result = await runFstore(['--data-dir', dataDir, ...args]);
      expect(result.code, `fstore ${args.join(' ')}\n${result.stdout}${result.stderr}`).toBe(0);
      return result.stdout;
    };
    const demo = path.join(work, 'demo');
    await fstore(
      'demo-data',
      '--customers',
      '30',
      '--days',
      '15',
      '--end',
      '2026-06-01',
      '--format',
      'csv',
      '--out',
      demo,
    );
    for (const source of sources)
      await fstore('ingest', '--source', source, '--file', path.join(demo, `${source}.csv`));
    await fstore('apply');
    await fstore('materialize', '--end', '2026-06-01T00:00:00Z');
    const entities = path.join(work, 'entities.csv');
    await writeFile(
      entities,
      'customer_id,event_timestamp\nC000001,2026-05-30T00:00:00Z\nC000002,2026-05-31T12:00:00Z\nC000099,2026-05-31T12:00:00Z\n',
    );
    const trainingSet = async (env: string) => {
      const out = path.join(work, `${env}.csv`);
      await fstore(
        '--env',
        env,
        'training-set',
        '--service',
        'churn_v1',
        '--entities',
        entities,
        '--out',
        out,
      );
      return readFile(out, 'utf8');
    };
    const lookup = (env: string) =>
      fstore(
        '--env',
        env,
        'get',
        '--service',
        'churn_online',
        '--entity',
        'customer_id=C000001',
        '--entity',
        'customer_id=C000002',
        '--json',
      );

    const backup = path.join(work, 'backup');
    const exported = await fstore('export', '--out', backup, '--include-data');
    expect(exported).toMatch(/exported env "local" to .*backup: \d+ files, .*, \d+ data files/);
    const imported = await fstore('--env', 'local-restored', 'import', backup);
    expect(imported).toContain('into env "local-restored"');
    // The restored online store is empty until materialize fills it.
    const statuses = (answers: { features: Record<string, { status: string }> }[]) =>
      new Set(answers.flatMap((a) => Object.values(a.features).map((f) => f.status)));
    expect(statuses(JSON.parse(await lookup('local-restored')))).toEqual(new Set(['NOT_FOUND']));

    expect(await trainingSet('local-restored')).toBe(await trainingSet('local'));
    await fstore('--env', 'local-restored', 'materialize', '--end', '2026-06-01T00:00:00Z');
    const restored = JSON.parse(await lookup('local-restored'));
    expect(restored).toEqual(JSON.parse(await lookup('local')));
    expect(statuses(restored)).toContain('PRESENT');

    const again = await runFstore([
      '--data-dir',
      dataDir,
      '--env',
      'local-restored',
      'import',
      backup,
    ]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('environment "local-restored" is not empty');
  }, 300_000);
});
