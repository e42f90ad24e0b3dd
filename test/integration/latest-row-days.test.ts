import { beforeAll, describe, expect, it } from 'vitest';
import {
  defineAggregationView,
  defineFeatureView,
  defineSource,
} from '../../lib/definitions/index.ts';
import { openDuckdb, queryRows } from '../../lib/offline/duckdb-session.ts';
import { narrowToLatestRowDays } from '../../lib/offline/latest-row-days.ts';
import { loadEntities } from '../../lib/offline/load-entities.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { requestScope } from '../../lib/offline/request-scope.ts';
import { planPointInTime, requiredJoinKeys } from '../../lib/sql/point-in-time-plan.ts';
import { customer, scores } from '../helpers/customer-scores.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';

const latest = defineFeatureView({
  name: 'latest',
  entities: [customer],
  source: scores,
  features: { score: 'int64' },
  ttl: '30d',
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
  aggregations: { amount: { functions: ['sum'], windows: ['30d'] } },
});

// Score rows of A on day 1, 10, 19 and at 18:00 of day 20; of B only on day 2. Each day is its
// own ingest, so each its own file.
const dayOf = (n: number) => `2026-03-${String(n).padStart(2, '0')}`;
const epochDay = (n: number) => Date.parse(`${dayOf(n)}T00:00:00Z`) / 86_400_000;
const scoreRows = [
  { customer_id: 'A', score: 1, event_ts: `${dayOf(1)}T10:00:00Z` },
  { customer_id: 'A', score: 10, event_ts: `${dayOf(10)}T10:00:00Z` },
  { customer_id: 'A', score: 19, event_ts: `${dayOf(19)}T10:00:00Z` },
  { customer_id: 'A', score: 20, event_ts: `${dayOf(20)}T18:00:00Z` },
  { customer_id: 'B', score: 2, event_ts: `${dayOf(2)}T10:00:00Z` },
];
// A at noon of day 20 (day 20's row is later: its latest row is day 19's), A at noon of day 12
// (latest day 10), B at noon of day 25 (latest day 2), C on day 20 (no row at all).
const entityRows = [
  { customer_id: 'A', event_timestamp: `${dayOf(20)}T12:00:00Z` },
  { customer_id: 'A', event_timestamp: `${dayOf(12)}T12:00:00Z` },
  { customer_id: 'B', event_timestamp: `${dayOf(25)}T12:00:00Z` },
  { customer_id: 'C', event_timestamp: `${dayOf(20)}T12:00:00Z` },
];

type Fixture = Awaited<ReturnType<typeof offlineFixture>>;
let fixture: Fixture;

beforeAll(async () => {
  fixture = await offlineFixture([latest, spend]);
  for (const row of scoreRows) await fixture.ingest('scores', [row]);
  for (const n of [1, 15])
    await fixture.ingest('orders', [
      { customer_id: 'A', amount: n, event_ts: `${dayOf(n)}T10:00:00Z` },
    ]);
});

async function narrowedWindows(features: readonly string[], rows = entityRows) {
  const plan = planPointInTime(
    fixture.registry,
    { features },
    { entityTimestampColumn: 'event_timestamp' },
  );
  const session = await openDuckdb();
  try {
    const entities = await loadEntities(session.connection, await fixture.writeJsonl(rows), {
      timestampColumn: 'event_timestamp',
      joinKeys: requiredJoinKeys(plan),
    });
    const root = offlineRoot(fixture.dataDir, 'local');
    const scope = await requestScope(
      session.connection,
      entities.table,
      plan,
      entities.rows,
      requiredJoinKeys(plan),
    );
    const narrowed = await narrowToLatestRowDays(session.connection, root, plan, scope);
    const found = narrowed.foundRows?.get('scores');
    const foundScores = found
      ? (await queryRows(session.connection, `SELECT customer_id, score FROM ${found}`))
          .map((r) => `${r.customer_id}:${r.score}`)
          .sort()
      : [];
    const days = (source: string, s: typeof scope) =>
      (s.keyedWindows?.get(source) ?? [])
        .map((w) => ({ key: w.values.get('customer_id'), from: w.from, to: w.to }))
        .sort((a, b) => a.to - b.to || String(a.key).localeCompare(String(b.key)));
    return {
      whole: (source: string) => days(source, scope),
      narrowedDays: (source: string) => days(source, narrowed),
      narrowed,
      foundScores,
    };
  } finally {
    session.close();
  }
}

describe('a small request narrows each latest-value window to the days from its latest row', () => {
  it('starts each window at its key’s latest day with a row at or before the entity time', async () => {
    const { narrowedDays, narrowed } = await narrowedWindows(['latest:score']);
    expect(narrowedDays('scores')).toEqual([
      { key: 'A', from: epochDay(10), to: epochDay(12) },
      // Day 20's row is at 18:00, after the entity time (noon): day 19's row is the latest.
      { key: 'A', from: epochDay(19), to: epochDay(20) },
      // No row of C at all: only its last day is kept.
      { key: 'C', from: epochDay(20), to: epochDay(20) },
      { key: 'B', from: epochDay(2), to: epochDay(25) },
    ]);
    expect(narrowed.sourceDays.get('scores')).toEqual([{ from: epochDay(2), to: epochDay(25) }]);
  });

  it('reads each row once, of the keys whose windows search its day', async () => {
    // Round 1 searches day 19 for A at 19 (found), day 11 for A at 11 and day 10 for B; round 2
    // days 9-10 for A at 11. Day 10's file holds A's row: read in round 1 for B's sake too, it
    // would be found twice. (B's search goes on to day 2.)
    const { foundScores } = await narrowedWindows(
      ['latest:score'],
      [
        { customer_id: 'A', event_timestamp: `${dayOf(19)}T12:00:00Z` },
        { customer_id: 'A', event_timestamp: `${dayOf(11)}T12:00:00Z` },
        { customer_id: 'B', event_timestamp: `${dayOf(10)}T12:00:00Z` },
      ],
    );
    expect(foundScores).toEqual(['A:10', 'A:19', 'B:2']);
  });

  it('leaves a source read by an aggregation view as it was: its windows need every row', async () => {
    const { whole, narrowedDays } = await narrowedWindows(['spend:amount_sum_30d']);
    expect(narrowedDays('orders')).toEqual(whole('orders'));
  });

  it('gives the values the whole windows give', async () => {
    const run = await fixture.trainingSet(entityRows, { request: { features: ['latest:score'] } });
    expect(run.records?.map((r) => [r.customer_id, r.score])).toEqual([
      ['A', 19],
      ['A', 10],
      ['B', 2],
      ['C', null],
    ]);
    // The run names only the narrowed days' files (day 2 .. 25 of B covers 10-12 and 19-20).
    expect(run.sql).not.toContain(`dt=${dayOf(1)}`);
  });
});
