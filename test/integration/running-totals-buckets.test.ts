import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DuckdbSession, openDuckdb, queryRows } from '../../lib/offline/duckdb-session.ts';
import { duckdbDialect } from '../../lib/sql/duckdb-dialect.ts';
import {
  renderBucketJoin,
  renderBucketKeys,
  renderLayeredBuckets,
  renderProbeBucket,
  renderRowsOfIncrementKeys,
  renderTimeBuckets,
  type TimeBuckets,
} from '../../lib/sql/render-running-totals-buckets.ts';
import { renderLayeredTotals } from '../../lib/sql/render-running-totals-increment.ts';

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

/**
 * Buckets of the `totals` table, each key's width (renderBucketKeys) times `widthScale`: any
 * positive width must give the same answers.
 */
async function bucketed(session: DuckdbSession, widthScale = 1): Promise<TimeBuckets> {
  await session.connection.run(
    "CREATE OR REPLACE TABLE ids AS SELECT DISTINCT 'K' || fstore_key_id AS k, fstore_key_id FROM totals",
  );
  await session.connection.run(
    `CREATE OR REPLACE TABLE bucket_keys AS ${renderBucketKeys('totals', 'ids', ['k'], dialect)}`,
  );
  await session.connection.run(
    `UPDATE bucket_keys SET fstore_width = CAST(greatest(1, ceil(fstore_width * ${widthScale})) AS BIGINT)`,
  );
  await session.connection.run(
    `CREATE OR REPLACE TABLE buckets AS ${renderTimeBuckets('totals', 'bucket_keys', ['fstore_rows'], dialect)}`,
  );
  return { relation: 'buckets', keys: 'bucket_keys' };
}

/**
 * Probes whose bucket lookup differs from the ASOF join's answer over `totals` (or that it
 * repeats).
 */
async function differences(
  session: DuckdbSession,
  buckets: TimeBuckets,
  totals = 'totals',
): Promise<unknown[]> {
  return queryRows(
    session.connection,
    `WITH by_bucket AS (
       SELECT p.probe, r.fstore_t, r.fstore_rows
       FROM (SELECT probes.*, ${renderProbeBucket('k', 'fstore_x')} FROM probes LEFT JOIN ${buckets.keys} k USING (fstore_key_id)) p
       ${renderBucketJoin(buckets, ['fstore_rows'], dialect)}
     ), by_asof AS (
       SELECT p.probe, r.fstore_t, r.fstore_rows
       FROM probes p ASOF LEFT JOIN ${totals} r ON r.fstore_key_id = p.fstore_key_id AND r.fstore_t <= p.fstore_x
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

  it('repeats rows at most 1.25 times the totals plus two rows a key when times spread evenly', async () => {
    await bucketed(session, 1);
    const { totals, keys, repeated } = await bucketCounts(session);
    expect(repeated).toBeGreaterThan(totals);
    expect(repeated).toBeLessThanOrEqual(1.25 * totals + 2 * keys);
  });
});

/** Rows of `totals` and `buckets`, keys, and the most rows one key has in one bucket. */
async function bucketCounts(session: DuckdbSession) {
  const [counts] = await queryRows(
    session.connection,
    `SELECT (SELECT count(*) FROM totals) AS totals, (SELECT count(DISTINCT fstore_key_id) FROM totals) AS keys,
       (SELECT count(*) FROM buckets) AS repeated,
       (SELECT max(n) FROM (SELECT count(*) AS n FROM buckets GROUP BY fstore_key_id, fstore_bucket)) AS most_in_bucket`,
  );
  return {
    totals: Number(counts?.totals),
    keys: Number(counts?.keys),
    repeated: Number(counts?.repeated),
    mostInBucket: Number(counts?.most_in_bucket),
  };
}

describe('running totals by time bucket, with times skewed', () => {
  let session: DuckdbSession;
  const year = 365 * 86_400_000_000;
  const start2025 = 1_735_689_600_000_000;
  beforeAll(async () => {
    session = await openDuckdb();
    await session.connection.run('SELECT setseed(0.7)');
  });
  afterAll(() => session.close());

  /**
   * 200 keys of 100 rows spread over 2025; `extra` adds rows (key id, time) on top. Probes at,
   * around and between every row time, before the first and past the last.
   */
  async function skewed(extra: string): Promise<void> {
    await session.connection.run(`
      CREATE OR REPLACE TABLE totals AS
      SELECT fstore_key_id, fstore_t, row_number() OVER (PARTITION BY fstore_key_id ORDER BY fstore_t) AS fstore_rows
      FROM (
        SELECT DISTINCT fstore_key_id, fstore_t FROM (
          SELECT 1 + i // 100 AS fstore_key_id, ${start2025} + CAST(floor(random() * ${year}) AS BIGINT) AS fstore_t
          FROM range(20000) t(i)
          ${extra}
        )
      )`);
    await session.connection.run(`
      CREATE OR REPLACE TABLE probes AS
      SELECT row_number() OVER () AS probe, fstore_key_id, fstore_x FROM (
        SELECT fstore_key_id, fstore_t + d AS fstore_x FROM totals, (VALUES (-1), (0), (1), (3600000000)) v(d)
        UNION ALL SELECT fstore_key_id, min(fstore_t) - 1 FROM totals GROUP BY ALL
        UNION ALL SELECT fstore_key_id, ${start2025 + 2 * year} FROM totals GROUP BY ALL
        UNION ALL SELECT 1 + CAST(floor(random() * 200) AS BIGINT), ${start2025 - 21 * year} + CAST(floor(random() * 22 * ${year}) AS BIGINT) FROM range(5000)
      )`);
  }

  it('keeps the buckets of every key narrow when one row is 20 years older than the rest, with the same answers as the ASOF join', async () => {
    await skewed(`UNION ALL SELECT 1, ${start2025 - 20 * year}`);
    const buckets = await bucketed(session);
    expect(await differences(session, buckets)).toEqual([]);
    const { totals, keys, repeated, mostInBucket } = await bucketCounts(session);
    // One width for all keys, from the whole time span (the earlier rule), put each key's
    // year in one or two buckets: ~50-100 candidates a probe. Each key's own width keeps the
    // outlier's key to a few more than the others, and the others as without it.
    expect(mostInBucket).toBeLessThanOrEqual(16);
    expect(repeated).toBeLessThanOrEqual(1.5 * totals + keys);
  });

  it('keeps the repeated rows under three times the totals plus one a key when every key has a row 20 years back', async () => {
    await skewed(
      `UNION ALL SELECT 1 + i, ${start2025 - 20 * year} - i * 1000 FROM range(200) t(i)`,
    );
    const buckets = await bucketed(session);
    expect(await differences(session, buckets)).toEqual([]);
    const { totals, keys, repeated, mostInBucket } = await bucketCounts(session);
    expect(repeated).toBeLessThanOrEqual(3 * totals + keys);
    // The bound widens every key's buckets to a tenth of a year here (about 10 rows a bucket,
    // against ~80 with one width from the whole span).
    expect(mostInBucket).toBeLessThanOrEqual(32);
  });

  it('gives a key fifty times denser than the others buckets of its own, so it keeps time buckets', async () => {
    await skewed(
      `UNION ALL SELECT 7, ${start2025} + CAST(floor(random() * ${year}) AS BIGINT) FROM range(5000)`,
    );
    const buckets = await bucketed(session);
    expect(await differences(session, buckets)).toEqual([]);
    const { totals, keys, repeated, mostInBucket } = await bucketCounts(session);
    expect(mostInBucket).toBeLessThanOrEqual(16);
    expect(repeated).toBeLessThanOrEqual(1.5 * totals + keys);
  });
});

describe('time buckets of a base and an increment', () => {
  it('find, for every probe, the ASOF join row of the layered totals, for keys the increment changed, kept and added', async () => {
    const session = await openDuckdb();
    try {
      const run = (sql: string) => session.connection.run(sql);
      await run('SELECT setseed(0.7)');
      await fixture(session);
      // The increment: keys 3 and 7 rebuilt from their median time on (other counts), a new
      // last row for key 3, and key 50, new.
      await run(`
        CREATE TABLE increment AS
        SELECT fstore_key_id, fstore_t, fstore_rows + 1000 AS fstore_rows FROM totals
        WHERE fstore_key_id IN (3, 7)
          AND fstore_t >= (SELECT median(m.fstore_t) FROM totals m WHERE m.fstore_key_id = totals.fstore_key_id)
        UNION ALL SELECT 3, (SELECT max(fstore_t) FROM totals) + 17, 5000
        UNION ALL SELECT 50, fstore_t, row_number() OVER (ORDER BY fstore_t)
        FROM (SELECT DISTINCT CAST(floor(random() * 1e12) AS BIGINT) AS fstore_t FROM range(40))`);
      await run(`
        INSERT INTO probes
        SELECT (SELECT max(probe) FROM probes) + row_number() OVER (), fstore_key_id, fstore_x FROM (
          SELECT fstore_key_id, fstore_t + d AS fstore_x FROM increment, (VALUES (-1), (0), (1)) v(d)
          UNION ALL SELECT 50, -5
        )`);
      // The increment's dictionary holds its base's keys and the new ones.
      await run(
        "CREATE TABLE ids AS SELECT DISTINCT 'K' || fstore_key_id AS k, fstore_key_id FROM (SELECT fstore_key_id FROM totals UNION ALL SELECT fstore_key_id FROM increment)",
      );
      await run(`CREATE TABLE base_keys AS ${renderBucketKeys('totals', 'ids', ['k'], dialect)}`);
      await run(
        `CREATE TABLE base_buckets AS ${renderTimeBuckets('totals', 'base_keys', ['fstore_rows'], dialect)}`,
      );
      const changedRows = renderLayeredTotals(
        renderRowsOfIncrementKeys('totals', 'increment'),
        'increment',
      );
      await run(
        `CREATE TABLE changed_keys AS ${renderBucketKeys(changedRows, renderRowsOfIncrementKeys('ids', 'increment'), ['k'], dialect)}`,
      );
      await run(
        `CREATE TABLE changed_buckets AS ${renderTimeBuckets(changedRows, 'changed_keys', ['fstore_rows'], dialect)}`,
      );
      await run(
        `CREATE TABLE layered_totals AS SELECT * FROM ${renderLayeredTotals('totals', 'increment')}`,
      );
      const layered = renderLayeredBuckets(
        { relation: 'base_buckets', keys: 'base_keys' },
        { relation: 'changed_buckets', keys: 'changed_keys' },
      );
      expect(await differences(session, layered, 'layered_totals')).toEqual([]);
      // Only the increment's keys get buckets of their own; every key has one keys row.
      const keysOf = async (relation: string) =>
        (
          await queryRows(session.connection, `SELECT k FROM ${relation} ORDER BY fstore_key_id`)
        ).map((r) => r.k);
      expect(await keysOf('changed_keys')).toEqual(['K3', 'K7', 'K50']);
      expect(await keysOf(layered.keys)).toEqual(await keysOf('ids'));
    } finally {
      session.close();
    }
  });
});
