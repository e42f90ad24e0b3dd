import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DuckdbSession, openDuckdb, queryRows } from '../../../lib/offline/duckdb-session.ts';
import { athenaDialect } from '../../../lib/sql/athena-dialect.ts';
import { duckdbDialect } from '../../../lib/sql/duckdb-dialect.ts';
import type { PlannedView } from '../../../lib/sql/point-in-time-plan.ts';
import { keysAfter, renderLatestPerEntity } from '../../../lib/sql/render-latest.ts';

const duckdb = duckdbDialect('/data/offline');
const athena = athenaDialect('fstore_dev');
const twoKeys = [
  { name: 'region', type: 'string' },
  { name: 'store_id', type: 'int64' },
] as const;

let session: DuckdbSession;
beforeAll(async () => {
  session = await openDuckdb();
});
afterAll(() => session.close());

/** The (region, store_id) pairs of a 3 x 3 grid that `predicate` keeps, in key order. */
const keptPairs = async (predicate: string) => {
  const rows = await queryRows(
    session.connection,
    `SELECT region, store_id FROM (SELECT * FROM (VALUES ('a', 1), ('a', 2), ('a', 3), ('b', 1), ('b', 2), ('b', 3), ('c', 1), ('c', 2), ('c', 3)) grid(region, store_id)) WHERE ${predicate} ORDER BY region, store_id`,
  );
  return rows.map((r) => `${r.region}${r.store_id}`);
};

describe('the resume predicate (keys after the last finished entity)', () => {
  it('keeps exactly the keys that sort after the resume key, first key first', async () => {
    expect(await keptPairs(keysAfter(twoKeys, ['b', 2], duckdb))).toEqual(['b3', 'c1', 'c2', 'c3']);
    expect(await keptPairs(keysAfter(twoKeys, ['a', 3], duckdb))).toEqual([
      'b1',
      'b2',
      'b3',
      'c1',
      'c2',
      'c3',
    ]);
    expect(await keptPairs(keysAfter(twoKeys, ['c', 3], duckdb))).toEqual([]);
  });

  it('compares an integer key as a number, not as text (10 sorts after 9)', async () => {
    const rows = await queryRows(
      session.connection,
      `SELECT store_id FROM (VALUES (9), (10), (100)) t(store_id) WHERE ${keysAfter([{ name: 'store_id', type: 'int64' }], [9], duckdb)} ORDER BY store_id`,
    );
    expect(rows.map((r) => r.store_id)).toEqual([10, 100]);
  });

  it('quotes a string key value as a literal, quotes doubled', () => {
    expect(keysAfter([{ name: 'name', type: 'string' }], ["o'brien"], athena)).toBe(
      `(("name" > 'o''brien'))`,
    );
  });

  it('refuses a resume key with the wrong number of values, naming both counts', () => {
    expect(() => keysAfter(twoKeys, ['b'], duckdb)).toThrow(
      'resume key has 1 values for 2 join keys',
    );
  });

  it('refuses a value of an integer key that is not an integer, naming the key and the value', () => {
    expect(() => keysAfter(twoKeys, ['b', '2; DROP TABLE x'], duckdb)).toThrow(
      'resume key store_id is not an integer: 2; DROP TABLE x',
    );
    expect(() => keysAfter(twoKeys, ['b', 2.5], duckdb)).toThrow(
      'resume key store_id is not an integer: 2.5',
    );
    expect(keysAfter([{ name: 'n', type: 'int64' }], [-7], duckdb)).toBe('(("n" > -7))');
  });
});

const view: PlannedView = {
  view: 'store_sales',
  source: 'sales',
  joinKeys: twoKeys,
  timestampColumn: 'sold_at',
  features: [
    { feature: 'amount', type: 'float64', sourceType: 'float64', outputName: 'amount' },
    { feature: 'units', type: 'int64', sourceType: 'int32', outputName: 'units_sold' },
  ],
};

describe('the latest row per entity, its event-time bounds', () => {
  it('excludes an `after` bound and prunes partitions before its day', () => {
    const sql = renderLatestPerEntity(view, athena, {
      after: '2026-03-01T10:00:00Z',
      until: '2026-03-02T00:00:00Z',
    });
    expect(sql).toContain(
      `WHERE "sold_at" > TIMESTAMP '2026-03-01 10:00:00.000000' AND "dt" >= '2026-03-01' AND "sold_at" <= TIMESTAMP '2026-03-02 00:00:00.000000' AND "dt" <= '2026-03-02'`,
    );
  });

  it('includes a `from` bound (a backfill from a start time)', () => {
    const sql = renderLatestPerEntity(view, athena, {
      from: '2026-02-27T23:59:59.000001Z',
      until: '2026-03-02T00:00:00Z',
    });
    expect(sql).toContain(
      `WHERE "sold_at" >= TIMESTAMP '2026-02-27 23:59:59.000001' AND "dt" >= '2026-02-27' AND "sold_at" <=`,
    );
  });

  it('reads from the beginning when given neither bound, with no lower partition bound', () => {
    const sql = renderLatestPerEntity(view, athena, { until: '2026-03-02T00:00:00Z' });
    expect(sql).toContain(
      `WHERE "sold_at" <= TIMESTAMP '2026-03-02 00:00:00.000000' AND "dt" <= '2026-03-02'\n`,
    );
    expect(sql).not.toContain('>');
  });

  it('casts a feature to its declared type only when the source column has another type', () => {
    const sql = renderLatestPerEntity(view, athena, { until: '2026-03-02T00:00:00Z' });
    expect(sql).toContain(
      'SELECT "region", "store_id", "amount" AS "amount", CAST("units" AS BIGINT) AS "units_sold", "sold_at" AS event_ts, CAST(NULL AS TIMESTAMP(6)) AS created_ts, fstore_seq',
    );
  });

  it('ranks by the created time when the source has one', () => {
    const sql = renderLatestPerEntity({ ...view, createdColumn: 'loaded_at' }, athena, {
      until: '2026-03-02T00:00:00Z',
    });
    expect(sql).toContain('"loaded_at" AS created_ts');
    expect(sql).toContain(
      '  SELECT *, row_number() OVER (PARTITION BY "region", "store_id" ORDER BY "sold_at" DESC',
    );
    expect(sql).toContain(
      '\n  FROM (SELECT "fstore_rows".* FROM "fstore_dev"."sales" AS "fstore_rows" CROSS JOIN',
    );
    expect(sql).toContain('ORDER BY "sold_at" DESC, "loaded_at" DESC NULLS LAST, fstore_seq DESC');
  });

  it('orders by key only when asked, or when resuming after a key', () => {
    const until = '2026-03-02T00:00:00Z';
    expect(renderLatestPerEntity(view, athena, { until })).not.toContain('ORDER BY "region"');
    expect(renderLatestPerEntity(view, athena, { until }, { orderByKey: true })).toMatch(
      /WHERE fstore_rank = 1\nORDER BY "region", "store_id"$/,
    );
    expect(renderLatestPerEntity(view, athena, { until }, { afterKey: ['b', 2] })).toMatch(
      /WHERE fstore_rank = 1\nAND \(\("region" > 'b'\) OR \("region" = 'b' AND "store_id" > 2\)\)\nORDER BY "region", "store_id"$/,
    );
  });
});
