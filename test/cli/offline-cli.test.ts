import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { beforeAll, describe, expect, it } from 'vitest';
import { getTrainingSet } from '../../lib/offline/training-set.ts';
import { compileRegistry, loadDefinitions } from '../../lib/registry/index.ts';
import { makeTempDir, repoRoot, runFstore } from '../helpers/run-fstore.ts';

describe('fstore ingest and training-set (CLI)', () => {
  let dataDir: string;
  let entities: string;
  const sources = ['customer_profiles', 'customer_contracts', 'orders'];

  beforeAll(async () => {
    dataDir = await makeTempDir('cli-offline');
    const demo = path.join(dataDir, 'demo');
    const generated = await runFstore([
      '--data-dir',
      dataDir,
      'demo-data',
      '--customers',
      '200',
      '--days',
      '60',
      '--end',
      '2026-06-01',
      '--format',
      'csv',
      '--out',
      demo,
    ]);
    expect(generated.code, generated.stderr).toBe(0);
    for (const source of sources) {
      const ingested = await runFstore([
        '--data-dir',
        dataDir,
        'ingest',
        '--source',
        source,
        '--file',
        path.join(demo, `${source}.csv`),
      ]);
      expect(ingested.code, ingested.stderr).toBe(0);
      expect(ingested.stdout).toMatch(new RegExp(`ingested [\\d,]+ rows into "${source}"`));
    }
    entities = path.join(dataDir, 'entities.csv');
    const rows = Array.from(
      { length: 100 },
      (_, i) =>
        `C${String(i + 1).padStart(6, '0')},2026-05-${String((i % 28) + 1).padStart(2, '0')}T09:00:00Z,${i % 2}`,
    );
    await writeFile(entities, `customer_id,event_timestamp,churned\n${rows.join('\n')}\n`);
  }, 120_000);

  it('refuses to ingest the same file twice and says how to override', async () => {
    const again = await runFstore([
      '--data-dir',
      dataDir,
      'ingest',
      '--source',
      'orders',
      '--file',
      path.join(dataDir, 'demo', 'orders.csv'),
    ]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('was already ingested into "orders"');
    expect(again.stderr).toContain('--allow-duplicate');
  });

  it('writes a training set for a service with one row per entity row and prints match rates', async () => {
    const out = path.join(dataDir, 'churn_v1.parquet');
    const result = await runFstore([
      '--data-dir',
      dataDir,
      'training-set',
      '--service',
      'churn_v1',
      '--entities',
      entities,
      '--out',
      out,
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/✔ 100 rows × 12 columns/);
    expect(result.stdout).toMatch(/customer_profile\s+│ 100\s+│ 100\.0%/);
    const db = await DuckDBInstance.create(':memory:');
    const connection = await db.connect();
    const reader = await connection.runAndReadAll(
      `SELECT count(*)::INTEGER AS n, count(DISTINCT customer_id)::INTEGER AS k, count(plan)::INTEGER AS plans FROM read_parquet('${out}')`,
    );
    expect(reader.getRowObjects()[0]).toEqual({ n: 100, k: 100, plans: 100 });
    connection.closeSync();
    db.closeSync();
  });

  it('writes CSV with full feature names for explicit features', async () => {
    const out = path.join(dataDir, 'subset.csv');
    const result = await runFstore([
      '--data-dir',
      dataDir,
      'training-set',
      '--features',
      'customer_profile:plan',
      'last_order:*',
      '--full-feature-names',
      '--entities',
      entities,
      '--out',
      out,
    ]);
    expect(result.code, result.stderr).toBe(0);
    const header = (await readFile(out, 'utf8')).split('\n')[0];
    expect(header).toBe(
      'customer_id,event_timestamp,churned,customer_profile__plan,last_order__amount,last_order__category',
    );
  });

  it('computes aggregation features the same by running totals and by range join (--aggregations) as by the window form (in-process: the CLI has no strategy option)', async () => {
    const features = [
      'order_stats:amount_sum_30d',
      'order_stats:amount_count_7d',
      'order_stats:amount_avg_90d',
    ];
    const out = (how: string) => path.join(dataDir, `order_stats-${how}.csv`);
    const trainingSet = (how: string) =>
      runFstore([
        '--data-dir',
        dataDir,
        'training-set',
        '--features',
        ...features,
        '--entities',
        entities,
        '--out',
        out(how),
        '--aggregations',
        how,
        '--show-sql',
      ]);
    const run = async (how: string) => {
      const result = await trainingSet(how);
      expect(result.code, result.stderr).toBe(0);
      const [header, ...rows] = (await readFile(out(how), 'utf8')).trim().split('\n');
      return { sql: result.stdout, header, rows: rows.map((r) => r.split(',')) };
    };
    const totals = await run('running-totals');
    const join = await run('range-join');
    // The third mode, the window form Athena runs, on the same data and definitions.
    const windowForm = await getTrainingSet({
      registry: compileRegistry(await loadDefinitions(path.join(repoRoot, 'feature-defs'))),
      dataDir,
      env: 'local',
      request: { features },
      entities,
      strategy: 'merge-window',
      out: out('window-form'),
    });
    const [windowHeader, ...windowRows] = (await readFile(out('window-form'), 'utf8'))
      .trim()
      .split('\n');
    expect(totals.sql).toContain('_running_totals');
    expect(join.sql).not.toContain('_running_totals');
    expect(join.sql).not.toContain('RANGE BETWEEN');
    expect(windowForm.sql).toContain('RANGE BETWEEN');
    expect(totals.header).toBe(join.header);
    expect(windowHeader).toBe(join.header);
    expect(totals.rows.filter((r) => r[4] !== '0').length).toBeGreaterThan(10);
    const modes = {
      'running totals': totals.rows,
      'window form': windowRows.map((r) => r.split(',')),
    };
    for (const [mode, rows] of Object.entries(modes)) {
      expect(rows, mode).toHaveLength(join.rows.length);
      rows.forEach((row, i) => {
        row.forEach((value, j) => {
          const other = join.rows[i]?.[j] ?? '';
          const where = `${mode} row ${i + 1} column ${j + 1}`;
          if (value === '' || Number.isNaN(Number(value))) expect(value, where).toBe(other);
          else expect(Number(value), where).toBeCloseTo(Number(other), 9);
        });
      });
    }

    const wrong = await trainingSet('tiles');
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/--aggregations.*tiles.*auto, range-join, running-totals/s);
  });

  it('needs exactly one of --service and --features', async () => {
    const result = await runFstore([
      '--data-dir',
      dataDir,
      'training-set',
      '--entities',
      entities,
      '--out',
      path.join(dataDir, 'x.csv'),
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('pass exactly one of --service and --features');
  });

  it('explains an unknown service with the known ones', async () => {
    const result = await runFstore([
      '--data-dir',
      dataDir,
      'training-set',
      '--service',
      'churn_v9',
      '--entities',
      entities,
      '--out',
      path.join(dataDir, 'x.csv'),
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('no feature service "churn_v9"');
    expect(result.stderr).toContain('churn_online, churn_v1');
  });

  it('asks for the offline bucket when ingesting into an AWS environment', async () => {
    const result = await runFstore(
      [
        '--data-dir',
        dataDir,
        '--env',
        'dev',
        'ingest',
        '--source',
        'orders',
        '--file',
        path.join(dataDir, 'demo', 'orders.csv'),
      ],
      { env: { FSTORE_OFFLINE_BUCKET: '' } },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('needs its offline bucket');
    expect(result.stderr).toContain('OfflineBucketName');
  });

  it('asks for the offline bucket and a service when building a training set on an AWS environment', async () => {
    const noBucket = await runFstore(
      [
        '--env',
        'dev',
        'training-set',
        '--service',
        'churn_v1',
        '--entities',
        entities,
        '--out',
        path.join(dataDir, 'x.parquet'),
      ],
      { env: { FSTORE_OFFLINE_BUCKET: '' } },
    );
    expect(noBucket.code).toBe(2);
    expect(noBucket.stderr).toContain('need its offline bucket');
    const noService = await runFstore([
      '--env',
      'dev',
      'training-set',
      '--features',
      'last_order:*',
      '--bucket',
      'b',
      '--entities',
      entities,
      '--out',
      path.join(dataDir, 'x.parquet'),
    ]);
    expect(noService.code).toBe(2);
    expect(noService.stderr).toContain('built per feature service');
  });
});
