import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, makeTempDir, runFstore } from '../helpers/run-fstore.ts';

/** stdout of a --json run: exactly one JSON document, nothing else. */
function documentOf(result: CliResult): Record<string, unknown> {
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

describe('--json: one JSON document on stdout, progress on stderr', () => {
  let dataDir: string;
  let demo: string;
  const fstore = (...args: string[]) => runFstore(['--data-dir', dataDir, ...args]);

  beforeAll(async () => {
    dataDir = await makeTempDir('cli-json');
    demo = path.join(dataDir, 'demo');
  });

  it('demo-data, ingest, apply and training-set print their results as JSON, in order', async () => {
    const generated = await fstore(
      'demo-data',
      '--customers',
      '30',
      '--days',
      '20',
      '--end',
      '2026-06-01',
      '--format',
      'csv',
      '--out',
      demo,
      '--json',
    );
    expect(generated.code, generated.stderr).toBe(0);
    expect(documentOf(generated)).toMatchObject({ customers: 30, days: 20, format: 'csv' });
    expect((documentOf(generated).files as { source: string }[]).map((f) => f.source)).toContain(
      'customer_profiles',
    );

    for (const source of ['customer_profiles', 'customer_contracts', 'orders']) {
      const ingested = await fstore(
        'ingest',
        '--source',
        source,
        '--file',
        path.join(demo, `${source}.csv`),
        '--json',
      );
      expect(ingested.code, ingested.stderr).toBe(0);
      const ingest = documentOf(ingested);
      expect(ingest).toMatchObject({ source, ingestId: expect.any(String) });
      expect(ingest.rows).toBeGreaterThan(0);
      expect(ingested.stderr).toContain(source);
    }

    const applied = await fstore('apply', '--json');
    expect(applied.code, applied.stderr).toBe(0);
    expect(documentOf(applied)).toMatchObject({ env: 'local', applied: true });
    const again = await fstore('apply', '--json');
    expect(documentOf(again)).toMatchObject({ applied: false });

    const entities = path.join(dataDir, 'entities.csv');
    await writeFile(
      entities,
      'customer_id,event_timestamp\nC000001,2026-05-30T00:00:00Z\nC000002,2026-05-30T00:00:00Z\n',
    );
    const out = path.join(dataDir, 'set.parquet');
    const built = await fstore(
      'training-set',
      '--service',
      'churn_v1',
      '--entities',
      entities,
      '--out',
      out,
      '--json',
    );
    expect(built.code, built.stderr).toBe(0);
    const set = documentOf(built);
    expect(set).toMatchObject({
      service: 'churn_v1',
      out,
      rows: 2,
      strategy: { aggregations: 'auto', runningTotals: [] },
      warnings: [],
    });
    expect(set.views).toContainEqual({
      view: 'customer_profile',
      matched: 2,
      entityRows: 2,
      rate: 1,
    });

    // Entity times before the data: the view matches nothing, and the warning says so.
    const early = path.join(dataDir, 'early.csv');
    await writeFile(early, 'customer_id,event_timestamp\nC000001,2020-01-01T00:00:00Z\n');
    const unmatched = await fstore(
      'training-set',
      '--features',
      'customer_profile:plan',
      '--entities',
      early,
      '--out',
      path.join(dataDir, 'early.parquet'),
      '--json',
    );
    expect(unmatched.code, unmatched.stderr).toBe(0);
    const warned = documentOf(unmatched);
    expect(warned).toMatchObject({ features: ['customer_profile:plan'], rows: 1 });
    expect(warned.views).toEqual([
      { view: 'customer_profile', matched: 0, entityRows: 1, rate: 0 },
    ]);
    expect(warned.warnings).toEqual([expect.stringContaining('customer_profile matched 0 of 1')]);
    expect(unmatched.stderr).not.toContain('warning:');
  }, 180_000);

  it('doctor prints its checks as JSON', async () => {
    const result = await fstore('doctor', '--json');
    const doctor = documentOf(result);
    expect(result.code).toBe(doctor.ok ? 0 : 1);
    expect((doctor.checks as { name: string }[]).map((c) => c.name)).toContain('Node.js');
  }, 120_000);

  it('a failure under --json keeps its exit code and prints an error document', async () => {
    const result = await fstore(
      'training-set',
      '--service',
      'churn_v2',
      '--entities',
      path.join(dataDir, 'entities.csv'),
      '--out',
      path.join(dataDir, 'x.parquet'),
      '--json',
    );
    expect(result.code).toBe(1);
    expect(documentOf(result)).toEqual({
      error: expect.objectContaining({ message: expect.stringContaining('churn_v2'), exitCode: 1 }),
    });
    expect(result.stderr).toContain('error:');

    const usage = await fstore('ingest', '--json');
    expect(usage.code).toBe(2);
    expect(documentOf(usage)).toEqual({
      error: expect.objectContaining({ message: expect.stringContaining('--source'), exitCode: 2 }),
    });
  }, 120_000);
});
