import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type DuckdbSession, openDuckdb, queryRows } from '../../lib/offline/duckdb-session.ts';
import { registerMatchTally } from '../../lib/offline/match-tally.ts';

describe('match tally (counting flags while a result streams)', () => {
  let session: DuckdbSession;
  beforeEach(async () => {
    session = await openDuckdb();
  });
  afterEach(() => session.close());

  it('counts each flag over many chunks and keeps every row, in the order of the query below it', async () => {
    const tally = registerMatchTally(session.connection, ['by_3', 'by_7']);
    const rows = await queryRows(
      session.connection,
      `SELECT i FROM (
         SELECT i, i % 3 = 0 AS by_3, i % 7 = 0 AS by_7 FROM range(100000) t(i) ORDER BY i DESC
       ) WHERE ${tally.condition}`,
    );
    expect(rows.length).toBe(100_000);
    expect(rows.slice(0, 3).map((r) => r.i)).toEqual([99_999, 99_998, 99_997]);
    expect(rows.every((r, index) => r.i === 99_999 - index)).toBe(true);
    expect(tally.counts()).toEqual([33_334, 14_286]);
    expect(tally.rows()).toBe(100_000);
  });

  it('keeps a row whose flag is NULL and does not count it', async () => {
    const tally = registerMatchTally(session.connection, ['flag']);
    const rows = await queryRows(
      session.connection,
      `SELECT i FROM (
         SELECT i, CASE WHEN i = 0 THEN NULL ELSE i = 1 END AS flag FROM range(3) t(i) ORDER BY i
       ) WHERE ${tally.condition}`,
    );
    expect(rows.map((r) => r.i)).toEqual([0, 1, 2]);
    expect(tally.counts()).toEqual([1]);
    expect(tally.rows()).toBe(3);
  });

  it('sees each row of a left join once (the filter stays above the join)', async () => {
    const tally = registerMatchTally(session.connection, ['matched']);
    await session.connection.run(
      'CREATE TABLE l AS SELECT i FROM range(5000) t(i); CREATE TABLE r AS SELECT i * 2 AS i FROM range(5000) t(i)',
    );
    const rows = await queryRows(
      session.connection,
      `SELECT l_i FROM (SELECT l.i AS l_i, r.i IS NOT NULL AS matched FROM l LEFT JOIN r ON l.i = r.i ORDER BY l.i) WHERE ${tally.condition}`,
    );
    expect(rows.length).toBe(5000);
    expect(tally.counts()).toEqual([2500]);
    expect(tally.rows()).toBe(5000);
  });
});
