import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../lib/definitions/index.ts';
import { Prng } from '../../lib/demo/prng.ts';
import { openDuckdb } from '../../lib/offline/duckdb-session.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { viewDrift } from '../../lib/quality/drift.ts';
import { driftReportHtml } from '../../lib/quality/drift-report.ts';
import { viewStatistics } from '../../lib/quality/feature-stats.ts';
import { duckdbQueryRows } from '../../lib/quality/query-engine.ts';
import { duckdbDialect } from '../../lib/sql/duckdb-dialect.ts';
import { chromiumOrSkip } from '../helpers/headless-browser.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';
import { makeTempDir } from '../helpers/run-fstore.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const profiles = defineSource({
  name: 'profiles',
  schema: { customer_id: 'string', charges: 'float64', plan: 'string', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const profile = defineFeatureView({
  name: 'profile',
  entities: [customer],
  source: profiles,
  features: { charges: 'float64', plan: 'string' },
});

async function withFixture<T>(
  rows: Record<string, unknown>[],
  work: (args: Parameters<typeof viewStatistics>[0]) => Promise<T>,
) {
  const fixture = await offlineFixture([customer, profiles, profile]);
  await fixture.ingest('profiles', rows);
  const session = await openDuckdb();
  try {
    return await work({
      query: duckdbQueryRows(session.connection),
      dialect: duckdbDialect(offlineRoot(fixture.dataDir, 'local')),
      registry: fixture.registry,
      view: 'profile',
    });
  } finally {
    session.close();
  }
}

/** January: charges ~ uniform 0..100, plans mostly basic; February: charges shifted up, plans flipped. */
function monthsOfRows(): Record<string, unknown>[] {
  const prng = new Prng(3);
  const rows: Record<string, unknown>[] = [];
  for (let i = 0; i < 2000; i++) {
    const feb = i >= 1000;
    const second = i % 1000;
    rows.push({
      customer_id: `C${i}`,
      charges: feb ? 40 + prng.next() * 100 : prng.next() * 100,
      plan: prng.next() < (feb ? 0.3 : 0.7) ? 'basic' : 'pro',
      event_ts: new Date(
        Date.UTC(2026, feb ? 1 : 0, 1 + (second % 28), 0, 0, second),
      ).toISOString(),
    });
  }
  return rows;
}

describe('feature statistics and drift (DuckDB)', () => {
  it('computes count, null %, min, max, mean, stddev, quantiles, distinct and top values in the engine', async () => {
    const rows = [1, 2, 3, 4, null].map((charges, i) => ({
      customer_id: `C${i}`,
      charges,
      plan: i < 3 ? 'basic' : 'pro',
      event_ts: `2026-01-0${i + 1}T00:00:00Z`,
    }));
    const stats = await withFixture(rows, (args) => viewStatistics(args));
    expect(stats.rows).toBe(5);
    const [charges, plan] = stats.features;
    expect(charges).toMatchObject({
      count: 4,
      nullPercent: 20,
      distinct: 4,
      min: 1,
      max: 4,
      mean: 2.5,
    });
    expect(charges?.stddev).toBeCloseTo(1.290994, 5);
    expect(charges?.quantiles?.p50).toBeCloseTo(2.5, 9);
    expect(plan).toMatchObject({
      count: 5,
      nullPercent: 0,
      distinct: 2,
      top: [
        { value: 'basic', count: 3 },
        { value: 'pro', count: 2 },
      ],
    });
  });

  it('flags features whose distribution moved and not those that stayed, and renders a self-contained report', async () => {
    const report = await withFixture(monthsOfRows(), (args) =>
      viewDrift({
        ...args,
        baseline: { start: '2026-01-01', end: '2026-01-31T23:59:59Z' },
        current: { start: '2026-02-01', end: '2026-02-28T23:59:59Z' },
      }),
    );
    expect(report.baseline.rows).toBe(1000);
    expect(report.current.rows).toBe(1000);
    const byName = Object.fromEntries(report.features.map((f) => [f.feature, f]));
    expect(byName.charges?.drifted).toBe(true);
    expect(byName.charges?.psi).toBeGreaterThan(0.5);
    expect(byName.plan?.drifted).toBe(true);
    expect(byName.charges?.bins.reduce((s, b) => s + b.baseline, 0)).toBe(1000);

    const same = await withFixture(monthsOfRows(), (args) =>
      viewDrift({
        ...args,
        baseline: { start: '2026-01-01', end: '2026-01-14T23:59:59Z' },
        current: { start: '2026-01-15', end: '2026-01-31T23:59:59Z' },
      }),
    );
    expect(same.features.map((f) => [f.feature, f.drifted])).toEqual([
      ['charges', false],
      ['plan', false],
    ]);

    const html = driftReportHtml(report);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    expect(html.match(/<svg /g)).toHaveLength(2);
  });

  it('renders the drift report as a picture in headless Chromium (skipped, with the reason, where no browser is installed)', async ({
    skip,
  }) => {
    const chromium = chromiumOrSkip(skip);
    const report = await withFixture(monthsOfRows(), (args) =>
      viewDrift({
        ...args,
        baseline: { start: '2026-01-01', end: '2026-01-31T23:59:59Z' },
        current: { start: '2026-02-01', end: '2026-02-28T23:59:59Z' },
      }),
    );
    const html = driftReportHtml(report);
    const dir = await makeTempDir('drift-report');
    const page = path.join(dir, 'report.html');
    const shot = path.join(dir, 'report.png');
    await writeFile(page, html);
    execFileSync(
      chromium,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        `--screenshot=${shot}`,
        '--window-size=1000,900',
        `file://${page}`,
      ],
      { stdio: 'ignore', timeout: 60_000 },
    );
    expect(existsSync(shot)).toBe(true);
    const png = readFileSync(shot);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    // A blank page compresses to almost nothing; bars, labels and the table do not.
    expect(statSync(shot).size).toBeGreaterThan(15_000);
  }, 120_000);
});
