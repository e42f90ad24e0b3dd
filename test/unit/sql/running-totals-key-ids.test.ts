import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DuckdbSession, openDuckdb, queryRows } from '../../../lib/offline/duckdb-session.ts';
import { duckdbDialect } from '../../../lib/sql/duckdb-dialect.ts';
import {
  keyIdRowsOf,
  renderKeyIds,
  renderTotalsWithKeyIds,
  totalsRowsOf,
} from '../../../lib/sql/render-running-totals-key-ids.ts';

// The key-id SQL of incremental running totals, run by DuckDB on a few rows (a Stryker run
// found no fast test reached keyIdRowsOf, the dictionary extended by an increment, or
// renderTotalsWithKeyIds: only the slow running-totals-incremental integration tests do).

const dialect = duckdbDialect('/nowhere');
const keys = ['region', 'customer_id'];
const values = (rows: string) =>
  `(SELECT * FROM (VALUES ${rows}) fstore_v(region, customer_id, fstore_key_id))`;
const keysOnly = (rows: string) => `(SELECT * FROM (VALUES ${rows}) fstore_v(region, customer_id))`;

const row = (region: string | null, customer_id: string, fstore_key_id: number) => ({
  region,
  customer_id,
  fstore_key_id,
});

let session: DuckdbSession;
beforeAll(async () => {
  session = await openDuckdb();
});
afterAll(() => session.close());

const rows = (sql: string) =>
  queryRows(session.connection, `SELECT * FROM (${sql}) ORDER BY ALL NULLS FIRST`);

describe('running-totals key ids', () => {
  it('number a first build’s distinct keys 1..n in key order, a NULL key included', async () => {
    const sql = renderKeyIds(
      keys,
      dialect,
      keysOnly("('eu', 'c2'), ('eu', 'c1'), (NULL, 'c9'), ('eu', 'c2'), ('us', NULL)"),
    );
    expect(await rows(sql)).toEqual([
      { region: null, customer_id: 'c9', fstore_key_id: 4 },
      { region: 'eu', customer_id: 'c1', fstore_key_id: 1 },
      { region: 'eu', customer_id: 'c2', fstore_key_id: 2 },
      { region: 'us', customer_id: null, fstore_key_id: 3 },
    ]);
  });

  it('keep a dictionary’s ids and number only the keys it lacks, on from its largest id', async () => {
    // Known ids need not be dense or in key order: they are never renumbered.
    const known = values("('us', 'c5', 7), ('eu', 'c1', 3), (NULL, NULL, 5)");
    const sql = renderKeyIds(
      keys,
      dialect,
      keysOnly(
        "('eu', 'c1'), ('us', 'c4'), (NULL, NULL), ('eu', 'c0'), ('us', 'c4'), ('us', 'c5')",
      ),
      known,
    );
    expect(await rows(sql)).toEqual([
      { region: null, customer_id: null, fstore_key_id: 5 },
      { region: 'eu', customer_id: 'c0', fstore_key_id: 8 },
      { region: 'eu', customer_id: 'c1', fstore_key_id: 3 },
      { region: 'us', customer_id: 'c4', fstore_key_id: 9 },
      { region: 'us', customer_id: 'c5', fstore_key_id: 7 },
    ]);
  });

  it('number from 1 when the dictionary is empty', async () => {
    const known = `(SELECT * FROM ${values("('x', 'x', 1)")} WHERE false)`;
    const sql = renderKeyIds(keys, dialect, keysOnly("('eu', 'c2'), ('eu', 'c1')"), known);
    expect(await rows(sql)).toEqual([
      { region: 'eu', customer_id: 'c1', fstore_key_id: 1 },
      { region: 'eu', customer_id: 'c2', fstore_key_id: 2 },
    ]);
  });

  it('give each totals row its key’s id and append the dictionary, split back apart by marker', async () => {
    const totals =
      '(SELECT * FROM (VALUES' +
      " ('eu', 'c1', TIMESTAMP '2024-01-01 00:00:00.000300', 1, 2.5e0)," +
      " (NULL, 'c9', TIMESTAMP '2024-01-02 00:00:00', 2, 4.0e0)," +
      " ('eu', 'c1', TIMESTAMP '2024-01-03 00:00:00', 2, 5.0e0)" +
      ') fstore_v(region, customer_id, fstore_t, fstore_rows, amount_sum))';
    // ('eu', 'c3') shares one part of a totals row's key: only whole keys match.
    const ids = values("('eu', 'c1', 1), (NULL, 'c9', 2), ('us', 'c3', 3), ('eu', 'c3', 4)");
    const file = renderTotalsWithKeyIds(keys, dialect, totals, ids);
    await session.connection.run(`CREATE OR REPLACE TABLE totals_file AS ${file}`);
    expect(await rows(totalsRowsOf('totals_file'))).toEqual([
      { ...row(null, 'c9', 2), fstore_t: '2024-01-02 00:00:00', fstore_rows: 2, amount_sum: 4 },
      {
        ...row('eu', 'c1', 1),
        fstore_t: '2024-01-01 00:00:00.0003',
        fstore_rows: 1,
        amount_sum: 2.5,
      },
      { ...row('eu', 'c1', 1), fstore_t: '2024-01-03 00:00:00', fstore_rows: 2, amount_sum: 5 },
    ]);
    expect(await rows(keyIdRowsOf(keys, dialect, 'totals_file'))).toEqual([
      row(null, 'c9', 2),
      row('eu', 'c1', 1),
      row('eu', 'c3', 4),
      row('us', 'c3', 3),
    ]);
    // Key-id rows hold nothing but the keys and the id.
    expect(
      await rows('SELECT fstore_t, amount_sum FROM totals_file WHERE fstore_rows IS NULL'),
    ).toEqual([
      { fstore_t: null, amount_sum: null },
      { fstore_t: null, amount_sum: null },
      { fstore_t: null, amount_sum: null },
      { fstore_t: null, amount_sum: null },
    ]);
  });
});
