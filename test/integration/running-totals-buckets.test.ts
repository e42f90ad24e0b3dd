import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DuckdbSession, openDuckdb, queryRows } from '../../lib/offline/duckdb-session.ts';
import { duckdbDialect } from '../../lib/sql/duckdb-dialect.ts';
import {
  renderBucketJoin,
  renderProbeBucket,
  renderTimeBucketStatistics,
  renderTimeBuckets,
  type TimeBuckets,
  timeBucketWidth,
} from '../../lib/sql/render-running-totals-buckets.ts';

const dialect = duckdbDialect('/unused');

/**
 * Totals rows (key id, time, a running count) with times of both signs, and probes at, just
 * before and just after every row time, before each key's first row, past the last time of
 * all, and of keys with no totals (a NULL id and an unknown one).
 */
async function fixture(session: DuckdbSession): Promise<void> {
  await session.connection.run(`
    CREATE TABLE totals AS
    SELECT fstore_key_id, fstore_t, row_number() OVER (PARTITION BY fstore_key_id ORDER BY fstore_t) AS fstore_rows
    FROM (
      SELECT DISTINCT CAST(1 + floor(random() * 40) AS BIGINT) AS fstore_key_id,
             CAST(floor((random() - 0.3) * 1e12) AS BIGINT) AS fstore_t
      FROM range(3000)
      UNION ALL SELECT 41, 5
    )`);
  await session.connection.run(`
    CREATE TABLE probes AS
    SELECT row_number() OVER () AS probe, fstore_key_id, fstore_x FROM (
      SELECT fstore_key_id, fstore_t + d AS fstore_x FROM totals, (VALUES (-1), (0), (1)) v(d)
      UNION ALL SELECT fstore_key_id, min(fstore_t) - 1000 FROM totals GROUP BY ALL
      UNION ALL SELECT fstore_key_id, (SELECT max(fstore_t) FROM totals) + 500000000000 FROM totals GROUP BY ALL
      UNION ALL SELECT NULL, 0
      UNION ALL SELECT 999, 0
      UNION ALL SELECT fstore_key_id, CAST(floor((random() - 0.4) * 1.2e12) AS BIGINT) FROM totals
    )`);
}

async function bucketed(session: DuckdbSession, rowsPerBucketScale: number): Promise<TimeBuckets> {
  const [stats] = await queryRows(session.connection, renderTimeBucketStatistics('totals'));
  const lastTime = Number(stats?.last_time);
  const chosen = timeBucketWidth({
    rows: Number(stats?.total_rows),
    keys: Number(stats?.key_count),
    densestKeyRows: Number(stats?.densest_key_rows),
    firstTime: Number(stats?.first_time),
    lastTime,
  });
  if (chosen === undefined) throw new Error('the fixture should get time buckets');
  const width = Math.ceil(chosen * rowsPerBucketScale);
  await session.connection.run(
    `CREATE OR REPLACE TABLE buckets AS ${renderTimeBuckets('totals', ['fstore_rows'], { width, lastTime }, dialect)}`,
  );
  return { relation: 'buckets', width, lastTime };
}

/** Probes whose bucket lookup differs from the ASOF join's answer (or that it repeats). */
async function differences(session: DuckdbSession, buckets: TimeBuckets): Promise<unknown[]> {
  return queryRows(
    session.connection,
    `WITH by_bucket AS (
       SELECT p.probe, r.fstore_t, r.fstore_rows
       FROM (SELECT *, ${renderProbeBucket(buckets, 'fstore_x')} FROM probes) p
       ${renderBucketJoin(buckets, ['fstore_rows'], dialect)}
     ), by_asof AS (
       SELECT p.probe, r.fstore_t, r.fstore_rows
       FROM probes p ASOF LEFT JOIN totals r ON r.fstore_key_id = p.fstore_key_id AND r.fstore_t <= p.fstore_x
     )
     SELECT 'bucket' AS side, * FROM (SELECT * FROM by_bucket EXCEPT ALL SELECT * FROM by_asof)
     UNION ALL
     SELECT 'asof', * FROM (SELECT * FROM by_asof EXCEPT ALL SELECT * FROM by_bucket)`,
  );
}

describe('running totals by time bucket', () => {
  let session: DuckdbSession;
  beforeAll(async () => {
    session = await openDuckdb();
    await session.connection.run('SELECT setseed(0.42)');
    await fixture(session);
  });
  afterAll(() => session.close());

  it('finds, for every probe, the same totals row as the ASOF join, at and around each row time, before the first, past the last and for keys without totals', async () => {
    const buckets = await bucketed(session, 1);
    expect(await differences(session, buckets)).toEqual([]);
    const [counts] = await queryRows(
      session.connection,
      'SELECT (SELECT count(*) FROM probes) AS probes, (SELECT count(*) FROM totals) AS totals, (SELECT count(*) FROM buckets) AS repeated',
    );
    // The fixture reaches the cases it claims: probes of every kind, rows repeated over buckets.
    expect(Number(counts?.probes)).toBeGreaterThan(3 * Number(counts?.totals));
    expect(Number(counts?.repeated)).toBeGreaterThan(Number(counts?.totals));
  });

  it('finds the same rows with buckets far narrower and far wider than the chosen width', async () => {
    for (const scale of [0.01, 0.3, 7, 1e4])
      expect(await differences(session, await bucketed(session, scale))).toEqual([]);
  });

  it('repeats rows at most 1.25 times the totals plus two rows a key, whatever the spread', async () => {
    await bucketed(session, 1);
    const [counts] = await queryRows(
      session.connection,
      'SELECT (SELECT count(*) FROM totals) AS totals, (SELECT count(DISTINCT fstore_key_id) FROM totals) AS keys, (SELECT count(*) FROM buckets) AS repeated',
    );
    const bound = 1.25 * Number(counts?.totals) + 2 * Number(counts?.keys);
    expect(Number(counts?.repeated)).toBeLessThanOrEqual(bound);
  });

  it('refuses a width that is not a positive integer, naming it', () => {
    expect(() =>
      renderTimeBuckets('totals', ['fstore_rows'], { width: 0, lastTime: 1 }, dialect),
    ).toThrow(/time bucket width must be a positive integer, got 0/);
    expect(() =>
      renderTimeBuckets('totals', ['fstore_rows'], { width: 1.5, lastTime: 1 }, dialect),
    ).toThrow(/got 1.5/);
  });

  it('chooses a width of four rows a key and bucket on average, and none for empty totals or a key 16 times denser than the average', () => {
    const even = {
      rows: 2_000_000,
      keys: 20_000,
      densestKeyRows: 160,
      firstTime: 0,
      lastTime: 9_999,
    };
    expect(
      timeBucketWidth({ ...even, rows: 100, keys: 1, densestKeyRows: 100, lastTime: 99 }),
    ).toBe(4);
    expect(timeBucketWidth(even)).toBe(400);
    expect(timeBucketWidth({ ...even, densestKeyRows: 1_600 })).toBe(400);
    expect(timeBucketWidth({ ...even, densestKeyRows: 1_601 })).toBeUndefined();
    expect(timeBucketWidth({ ...even, rows: 0, keys: 0, densestKeyRows: 0 })).toBeUndefined();
  });
});
