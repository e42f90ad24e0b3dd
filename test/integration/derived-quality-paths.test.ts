import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../lib/definitions/index.ts';
import { openDuckdb } from '../../lib/offline/duckdb-session.ts';
import { ingestFile } from '../../lib/offline/ingest.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { viewStatistics } from '../../lib/quality/feature-stats.ts';
import { duckdbQueryRows } from '../../lib/quality/query-engine.ts';
import { validateViewData } from '../../lib/quality/validate-data.ts';
import { duckdbDialect } from '../../lib/sql/duckdb-dialect.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const subscriptions = defineSource({
  name: 'subscriptions',
  schema: {
    customer_id: 'string',
    monthly_charges: 'float64',
    plan: 'string',
    event_ts: 'timestamp',
  },
  timestampField: 'event_ts',
  filter: "plan <> 'trial'",
});
const billing = defineFeatureView({
  name: 'billing',
  entities: [customer],
  source: subscriptions,
  features: {
    annual_charges: { expr: 'monthly_charges * 12' },
    // trial rows carry a negative placeholder charge; the filter drops them from every read
    monthly_charges: { type: 'float64', min: 0 },
  },
});
const plain = defineFeatureView({
  name: 'plain',
  entities: [customer],
  source: subscriptions,
  features: { monthly_charges: { type: 'float64', min: 0 } },
});
const rows = [
  { customer_id: 'C1', monthly_charges: 10, plan: 'basic', event_ts: '2026-03-01T00:00:00Z' },
  { customer_id: 'C2', monthly_charges: -1, plan: 'trial', event_ts: '2026-03-01T00:00:00Z' },
];

describe('quality paths over a view with a derived feature and a filtered source', () => {
  it('fstore ingest (constraint checks on) accepts rows for a source read by a derived view', async () => {
    const fixture = await offlineFixture([customer, subscriptions, billing]);
    const file = path.join(fixture.dataDir, 'plain.jsonl');
    await writeFile(file, `${JSON.stringify(rows[0])}\n`);
    // Today: DuckDB Binder Error, column "annual_charges" not found (checkViewRules reads
    // every feature by name from the source rows).
    await expect(
      ingestFile({
        registry: fixture.registry,
        dataDir: fixture.dataDir,
        env: 'local',
        source: 'subscriptions',
        file,
      }),
    ).resolves.toBeDefined();
  }, 60_000);

  async function withSession<T>(
    work: (o: Parameters<typeof viewStatistics>[0]) => Promise<T>,
    view = 'billing',
  ) {
    const fixture = await offlineFixture([customer, subscriptions, billing, plain]);
    await fixture.ingest('subscriptions', rows);
    const session = await openDuckdb();
    try {
      return await work({
        query: duckdbQueryRows(session.connection),
        dialect: duckdbDialect(offlineRoot(fixture.dataDir, 'local')),
        registry: fixture.registry,
        view,
      });
    } finally {
      session.close();
    }
  }

  it('fstore stats computes the derived feature over the filtered rows', async () => {
    const stats = await withSession((o) => viewStatistics(o));
    expect(stats.rows).toBe(1); // the trial row is not a row of the view
    expect(stats.features.find((f) => f.feature === 'annual_charges')?.mean).toBe(120);
  }, 60_000);

  it('fstore validate-data judges only the rows the filter keeps', async () => {
    const report = await withSession((o) => validateViewData(o));
    expect(report.rows).toBe(1);
    expect(report.passed).toBe(true);
  }, 60_000);

  it('fstore validate-data on a plain view of a filtered source ignores the rows the filter drops', async () => {
    const report = await withSession((o) => validateViewData(o), 'plain');
    expect(report.rows).toBe(1); // today 2: the trial row is judged (min 0 broken by -1)
    expect(report.passed).toBe(true);
  }, 60_000);

  it('fstore stats on a plain view of a filtered source counts only the kept rows', async () => {
    const stats = await withSession((o) => viewStatistics(o), 'plain');
    expect(stats.rows).toBe(1);
    expect(stats.features[0]?.mean).toBe(10);
  }, 60_000);

  it('fstore ingest does not refuse a file for a row the source filter drops', async () => {
    const fixture = await offlineFixture([customer, subscriptions, plain]);
    const file = path.join(fixture.dataDir, 'trial.jsonl');
    await writeFile(file, `${JSON.stringify(rows[1])}\n`);
    await expect(
      ingestFile({
        registry: fixture.registry,
        dataDir: fixture.dataDir,
        env: 'local',
        source: 'subscriptions',
        file,
      }),
    ).resolves.toBeDefined();
  }, 60_000);
});
