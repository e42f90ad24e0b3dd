import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTempDir, runFstore, writeDefs } from '../helpers/run-fstore.ts';

const defs = `import { defineEntity, defineFeatureView, defineSource } from 'fstore:definitions';
const customer = defineEntity({ name: 'customer', joinKeys: [{ name: 'customer_id', type: 'string' }] });
const profiles = defineSource({ name: 'profiles', schema: { customer_id: 'string', charges: 'float64', plan: 'string', event_ts: 'timestamp' }, timestampField: 'event_ts' });
export const profile = defineFeatureView({ name: 'profile', entities: [customer], source: profiles, features: { charges: 'float64', plan: 'string' } });
`;

async function environment() {
  const dir = await writeDefs({ 'defs.ts': defs });
  const dataDir = await makeTempDir('quality-cli');
  const file = path.join(dataDir, 'rows.jsonl');
  const rows = Array.from({ length: 200 }, (_, i) => ({
    customer_id: `C${i}`,
    charges: i < 100 ? i : 200 + i,
    plan: i < 100 === i % 4 > 0 ? 'basic' : 'pro',
    event_ts: new Date(Date.UTC(2026, i < 100 ? 0 : 1, 1 + (i % 28))).toISOString(),
  }));
  await writeFile(file, rows.map((r) => JSON.stringify(r)).join('\n'));
  const fstore = (...args: string[]) => runFstore(['--defs', dir, '--data-dir', dataDir, ...args]);
  expect((await fstore('ingest', '--source', 'profiles', '--file', file)).code).toBe(0);
  return { fstore, dataDir };
}

describe('fstore stats and drift', () => {
  it('prints statistics and flags drift between two months, writing the HTML report', async () => {
    const { fstore, dataDir } = await environment();
    const stats = await fstore('stats', '--view', 'profile', '--json');
    expect(stats.code, stats.stderr).toBe(0);
    expect(JSON.parse(stats.stdout)).toMatchObject({ view: 'profile', rows: 200 });

    const report = path.join(dataDir, 'drift.html');
    const drift = await fstore(
      'drift',
      '--view',
      'profile',
      '--baseline',
      '2026-01-01..2026-01-31',
      '--current',
      '2026-02-01..2026-02-28',
      '--report',
      report,
    );
    expect(drift.code, drift.stderr).toBe(0);
    expect(drift.stdout).toMatch(/charges\s+│ numeric\s+│ [\d.]+\s+│ drifted/);
    expect(drift.stdout).toContain('2 of 2 features drifted');
    expect(existsSync(report)).toBe(true);
  });

  it('refuses a range that is not start..end', async () => {
    const { fstore } = await environment();
    const bad = await fstore(
      'drift',
      '--view',
      'profile',
      '--baseline',
      'january',
      '--current',
      '..',
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--baseline "january" is not a range');
  });
});
