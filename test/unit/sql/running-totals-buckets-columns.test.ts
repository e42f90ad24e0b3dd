import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DuckdbSession, openDuckdb, queryRows } from '../../../lib/offline/duckdb-session.ts';
import { duckdbDialect } from '../../../lib/sql/duckdb-dialect.ts';
import {
  renderBucketJoin,
  renderBucketKeys,
  renderProbeBucket,
  renderTimeBuckets,
} from '../../../lib/sql/render-running-totals-buckets.ts';

// Time buckets of a view with a composite join key and two stored totals, run by DuckDB. The
// bucket tests (test/integration/running-totals-buckets.test.ts) use one key and one total, so
// a Stryker run found every column-list separator of these renderers could be dropped unseen.

const dialect = duckdbDialect('/unused');
const totals = ['fstore_rows', 'amount_sum'];

let session: DuckdbSession;
beforeAll(async () => {
  session = await openDuckdb();
  await session.connection.run(`
    CREATE TABLE ids AS SELECT * FROM (VALUES ('eu', 'c1', 1), ('eu', 'c2', 2), ('us', 'c1', 3))
      v(region, customer_id, fstore_key_id)`);
  await session.connection.run(`
    CREATE TABLE totals AS SELECT * FROM (VALUES
      (1, 100, 1, 2.5e0), (1, 200, 2, 5.0e0), (1, 900, 3, 6.0e0),
      (2, 150, 1, 10.0e0),
      (3, 100, 1, -1.0e0), (3, 300, 2, -3.0e0)
    ) v(fstore_key_id, fstore_t, fstore_rows, amount_sum)`);
  await session.connection.run(
    `CREATE TABLE bucket_keys AS ${renderBucketKeys('totals', 'ids', ['region', 'customer_id'], dialect)}`,
  );
  await session.connection.run(
    `CREATE TABLE buckets AS ${renderTimeBuckets('totals', 'bucket_keys', totals, dialect)}`,
  );
});
afterAll(() => session.close());

describe('running-totals time buckets of a composite key with two totals', () => {
  it('keep both join key columns, the key id and its last time in the per-key rows', async () => {
    const rows = await queryRows(
      session.connection,
      'SELECT region, customer_id, fstore_key_id, fstore_t_last FROM bucket_keys ORDER BY fstore_key_id',
    );
    expect(rows).toEqual([
      { region: 'eu', customer_id: 'c1', fstore_key_id: 1, fstore_t_last: 900 },
      { region: 'eu', customer_id: 'c2', fstore_key_id: 2, fstore_t_last: 150 },
      { region: 'us', customer_id: 'c1', fstore_key_id: 3, fstore_t_last: 300 },
    ]);
  });

  it('answer each probe with both totals of the row at or before it', async () => {
    const probes =
      '(SELECT * FROM (VALUES (1, 1, 99), (2, 1, 100), (3, 1, 899), (4, 1, 5000), (5, 2, 151), (6, 3, 299), (7, 3, 300))' +
      ' v(probe, fstore_key_id, fstore_x))';
    const rows = await queryRows(
      session.connection,
      `SELECT p.probe, r.fstore_t, r.fstore_rows, r.amount_sum
       FROM (SELECT probes.*, ${renderProbeBucket('k', 'fstore_x')} FROM ${probes} probes
             LEFT JOIN bucket_keys k USING (fstore_key_id)) p
       ${renderBucketJoin({ relation: 'buckets', keys: 'bucket_keys' }, totals, dialect)}
       ORDER BY p.probe`,
    );
    expect(rows).toEqual([
      { probe: 1, fstore_t: null, fstore_rows: null, amount_sum: null },
      { probe: 2, fstore_t: 100, fstore_rows: 1, amount_sum: 2.5 },
      { probe: 3, fstore_t: 200, fstore_rows: 2, amount_sum: 5 },
      { probe: 4, fstore_t: 900, fstore_rows: 3, amount_sum: 6 },
      { probe: 5, fstore_t: 150, fstore_rows: 1, amount_sum: 10 },
      { probe: 6, fstore_t: 100, fstore_rows: 1, amount_sum: -1 },
      { probe: 7, fstore_t: 300, fstore_rows: 2, amount_sum: -3 },
    ]);
  });
});
