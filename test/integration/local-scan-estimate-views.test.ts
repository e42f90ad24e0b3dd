import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  defineAggregationView,
  defineEntity,
  defineFeatureView,
  defineSource,
} from '../../lib/definitions/index.ts';
import { openDuckdb } from '../../lib/offline/duckdb-session.ts';
import { loadEntities } from '../../lib/offline/load-entities.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { estimateLocalScan } from '../../lib/offline/local-scan-estimate.ts';
import type { TrainingSetOptions } from '../../lib/offline/training-set.ts';
import { planPointInTime, requiredJoinKeys } from '../../lib/sql/point-in-time-plan.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';

// `orders` is read by windows running totals answer whole (sum, count) and by one they answer
// only in part (max is not a running total); `profiles` by a plain view.
const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const orders = defineSource({
  name: 'orders',
  schema: { customer_id: 'string', amount: 'float64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const spend = defineAggregationView({
  name: 'spend',
  entities: [customer],
  source: orders,
  aggregations: { amount: { functions: ['sum', 'count'], windows: ['7d'] } },
});
const peaks = defineAggregationView({
  name: 'peaks',
  entities: [customer],
  source: orders,
  aggregations: { amount: { functions: ['sum', 'max'], windows: ['7d'] } },
});
const profile = defineFeatureView({
  name: 'profile',
  entities: [customer],
  source: defineSource({
    name: 'profiles',
    schema: { customer_id: 'string', tier: 'string', event_ts: 'timestamp' },
    timestampField: 'event_ts',
  }),
  features: { tier: 'string' },
  ttl: '30d',
});

type Fixture = Awaited<ReturnType<typeof offlineFixture>>;
let fixture: Fixture;
let entities: string;
const entityRows = [
  { customer_id: 'A', event_timestamp: '2026-03-05T12:00:00Z' },
  { customer_id: 'B', event_timestamp: '2026-03-09T12:00:00Z' },
];

beforeAll(async () => {
  fixture = await offlineFixture([spend, peaks, profile]);
  for (const day of ['2026-03-01', '2026-03-04', '2026-03-08']) {
    await fixture.ingest('orders', [
      { customer_id: 'A', amount: 5, event_ts: `${day}T10:00:00Z` },
      { customer_id: 'B', amount: 7, event_ts: `${day}T11:00:00Z` },
    ]);
    await fixture.ingest('profiles', [
      { customer_id: 'A', tier: 'gold', event_ts: `${day}T09:00:00Z` },
    ]);
  }
  entities = await fixture.writeJsonl(entityRows);
});

/** The estimate for `features` with `options`, and the data files the real run's SQL names. */
async function estimateAndRun(
  features: readonly string[],
  options: Pick<TrainingSetOptions, 'strategy' | 'aggregations' | 'runningTotalsFromRows'>,
) {
  const plan = planPointInTime(
    fixture.registry,
    { features },
    { entityTimestampColumn: 'event_timestamp' },
  );
  const session = await openDuckdb();
  const root = offlineRoot(fixture.dataDir, 'local');
  try {
    const loaded = await loadEntities(session.connection, entities, {
      timestampColumn: 'event_timestamp',
      joinKeys: requiredJoinKeys(plan),
    });
    const estimate = await estimateLocalScan(session.connection, root, plan, loaded, options);
    const run = await fixture.trainingSet(entityRows, { request: { features }, ...options });
    const sourceFilesInSql = [
      ...new Set(
        [...run.sql.matchAll(/'([^']+\.parquet)'/g)]
          .map((m) => m[1] as string)
          .filter((file) => !file.includes(`${path.sep}_running_totals${path.sep}`)),
      ),
    ].sort();
    return { estimate, run, sourceFilesInSql };
  } finally {
    session.close();
  }
}

const listed = (estimate: Awaited<ReturnType<typeof estimateAndRun>>['estimate']) =>
  estimate.sources.flatMap((s) => s.files.map((f) => f.path)).sort();

/**
 * The estimate lists exactly the run's files of `orders` (aggregation views read their whole
 * windows) and at most the run's files of `profiles`: the run then narrows each row of its
 * latest-value view to the days from its latest row on (lib/offline/latest-row-days.ts), which
 * the estimate does not search for (that reads the files' keys).
 */
function expectListedCovers(listedFiles: readonly string[], inSql: readonly string[]) {
  const of = (source: string, files: readonly string[]) =>
    files.filter((f) => f.includes(`${path.sep}${source}${path.sep}`));
  expect(of('orders', listedFiles)).toEqual(of('orders', inSql));
  expect(listedFiles).toEqual(expect.arrayContaining([...inSql]));
}

describe('the local dry run reports what the real run reads for each view', () => {
  it('lists no file of a source whose views running totals answer whole: the run reads the totals', async () => {
    const { estimate, run, sourceFilesInSql } = await estimateAndRun(
      ['spend:amount_sum_7d', 'spend:amount_count_7d', 'profile:tier'],
      { aggregations: 'running-totals' },
    );
    expect(run.runningTotals).toEqual(['spend']);
    expect(estimate.sources.map((s) => s.source)).toEqual(['profiles']);
    expect(estimate.views).toEqual([
      { view: 'spend', source: 'orders', runningTotals: true, sourceFiles: false },
      { view: 'profile', source: 'profiles', runningTotals: false, sourceFiles: true },
    ]);
    expect(sourceFilesInSql.some((f) => f.includes(`${path.sep}orders${path.sep}`))).toBe(false);
    expectListedCovers(listed(estimate), sourceFilesInSql);
  });

  it('lists the source’s files too for a view totals answer only in part', async () => {
    const { estimate, run, sourceFilesInSql } = await estimateAndRun(
      ['peaks:amount_sum_7d', 'peaks:amount_max_7d'],
      { aggregations: 'running-totals' },
    );
    expect(run.runningTotals).toEqual(['peaks']);
    expect(estimate.views).toEqual([
      { view: 'peaks', source: 'orders', runningTotals: true, sourceFiles: true },
    ]);
    expect(sourceFilesInSql.length).toBeGreaterThan(0);
    expectListedCovers(listed(estimate), sourceFilesInSql);
  });

  it.each([
    ['the merge-window strategy', { strategy: 'merge-window' as const }],
    ['auto below the running-totals threshold', { aggregations: 'auto' as const }],
    ['a range join asked for', { aggregations: 'range-join' as const }],
  ])('lists the source’s files with %s, which reads no totals', async (_case, options) => {
    const { estimate, run, sourceFilesInSql } = await estimateAndRun(
      ['spend:amount_sum_7d', 'profile:tier'],
      options,
    );
    expect(run.runningTotals).toEqual([]);
    expect(estimate.views.every((v) => !v.runningTotals && v.sourceFiles)).toBe(true);
    expect(estimate.sources.map((s) => s.source).sort()).toEqual(['orders', 'profiles']);
    expectListedCovers(listed(estimate), sourceFilesInSql);
  });

  it('follows auto’s threshold: from that many entity rows the totals are read instead', async () => {
    const { estimate, run, sourceFilesInSql } = await estimateAndRun(
      ['spend:amount_sum_7d', 'profile:tier'],
      { aggregations: 'auto', runningTotalsFromRows: 2 },
    );
    expect(run.runningTotals).toEqual(['spend']);
    expect(estimate.sources.map((s) => s.source)).toEqual(['profiles']);
    expectListedCovers(listed(estimate), sourceFilesInSql);
  });
});
