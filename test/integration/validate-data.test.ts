import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../lib/definitions/index.ts';
import { openDuckdb } from '../../lib/offline/duckdb-session.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { duckdbQueryRows } from '../../lib/quality/query-engine.ts';
import { validateViewData } from '../../lib/quality/validate-data.ts';
import { duckdbDialect } from '../../lib/sql/duckdb-dialect.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';
import { makeTempDir, runFstore, writeDefs } from '../helpers/run-fstore.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const profiles = defineSource({
  name: 'profiles',
  schema: { customer_id: 'string', age: 'int32', plan: 'string', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const profile = defineFeatureView({
  name: 'profile',
  entities: [customer],
  source: profiles,
  features: {
    age: { type: 'int32', min: 18, max: 120 },
    plan: { type: 'string', allowedValues: ['basic', 'pro'], nullable: false },
  },
  quality: { maxNullPercent: 20, minRows: 4 },
});
const row = (id: string, age: number | null, plan: string | null, day = 1) => ({
  customer_id: id,
  age,
  plan,
  event_ts: `2026-03-0${day}T00:00:00Z`,
});

async function validate(
  rows: Record<string, unknown>[],
  range: { start?: string; end?: string } = {},
) {
  const fixture = await offlineFixture([customer, profiles, profile]);
  await fixture.ingest('profiles', rows);
  const session = await openDuckdb();
  try {
    return await validateViewData({
      query: duckdbQueryRows(session.connection),
      dialect: duckdbDialect(offlineRoot(fixture.dataDir, 'local')),
      registry: fixture.registry,
      view: 'profile',
      ...range,
    });
  } finally {
    session.close();
  }
}

const byRule = (report: Awaited<ReturnType<typeof validate>>) =>
  Object.fromEntries(report.results.map((r) => [`${r.feature ?? '-'} ${r.rule}`, r.violations]));

describe('validate-data: data-quality rules over the offline store (DuckDB)', () => {
  it('passes good data on every rule', async () => {
    const report = await validate([
      row('C1', 30, 'basic'),
      row('C2', 18, 'pro'),
      row('C3', 120, 'pro'),
      row('C4', null, 'basic', 2),
      row('C5', 50, 'basic', 2),
    ]);
    expect(report.passed).toBe(true);
    expect(report.rows).toBe(5);
    expect(byRule(report)).toEqual({
      'age min 18': 0,
      'age max 120': 0,
      'plan not null': 0,
      'plan allowed values': 0,
      'age max null 20%': 0,
      'plan max null 20%': 0,
      '- min rows 4': 0,
    });
  });

  it('counts each broken rule with examples, and fails', async () => {
    const report = await validate([
      row('C1', 17, 'basic'),
      row('C2', 121, 'gold'),
      row('C3', null, null),
      row('C4', null, 'pro'),
      row('C5', 40, 'pro'),
    ]);
    expect(report.passed).toBe(false);
    expect(byRule(report)).toEqual({
      'age min 18': 1,
      'age max 120': 1,
      'plan not null': 1,
      'plan allowed values': 1,
      'age max null 20%': 2,
      'plan max null 20%': 0,
      '- min rows 4': 0,
    });
    const min = report.results.find((r) => r.rule === 'min 18');
    expect(min?.examples).toEqual([expect.objectContaining({ customer_id: 'C1', age: 17 })]);
    expect(
      report.results.find((r) => r.rule === 'max null 20%' && r.feature === 'age')?.detail,
    ).toBe('40.00% null (2 of 5)');
  });

  it('checks only the rows of the range, and the minimum row count there', async () => {
    const report = await validate(
      [row('C1', 5, 'basic', 1), row('C2', 30, 'basic', 3), row('C3', 31, 'pro', 3)],
      {
        start: '2026-03-02',
      },
    );
    expect(report.rows).toBe(2);
    expect(byRule(report)['age min 18']).toBe(0);
    expect(report.results.find((r) => r.rule === 'min rows 4')).toMatchObject({
      passed: false,
      detail: '2 rows',
    });
  });

  it('exits 1 from the CLI when a rule fails and 0 when all pass', async () => {
    const defs = await writeDefs({
      'defs.ts': `import { defineEntity, defineFeatureView, defineSource } from 'fstore:definitions';
const customer = defineEntity({ name: 'customer', joinKeys: [{ name: 'customer_id', type: 'string' }] });
const profiles = defineSource({ name: 'profiles', schema: { customer_id: 'string', age: 'int32', event_ts: 'timestamp' }, timestampField: 'event_ts' });
export const profile = defineFeatureView({ name: 'profile', entities: [customer], source: profiles, features: { age: { type: 'int32', min: 18 } } });
`,
    });
    const dataDir = await makeTempDir('validate-data');
    const file = path.join(dataDir, 'rows.jsonl');
    const fstore = (...args: string[]) =>
      runFstore(['--defs', defs, '--data-dir', dataDir, ...args]);
    await writeFile(file, `${JSON.stringify(row('C1', 30, null))}\n`.replace(',"plan":null', ''));
    expect((await fstore('ingest', '--source', 'profiles', '--file', file)).code).toBe(0);
    const good = await fstore('validate-data', '--view', 'profile');
    expect(good.code, good.stderr).toBe(0);
    expect(good.stdout).toContain('passed');
    await writeFile(file, `${JSON.stringify(row('C2', 3, null, 2))}\n`.replace(',"plan":null', ''));
    expect(
      (await fstore('ingest', '--source', 'profiles', '--file', file, '--allow-violations')).code,
    ).toBe(0);
    const bad = await fstore('validate-data', '--view', 'profile');
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('FAIL');
    expect(bad.stdout).toContain('1 of 1 rules failed over 2 rows');
  });
});
