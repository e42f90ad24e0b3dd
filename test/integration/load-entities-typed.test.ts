import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type DuckdbSession, openDuckdb, queryRows } from '../../lib/offline/duckdb-session.ts';
import { loadEntities } from '../../lib/offline/load-entities.ts';

let session: DuckdbSession;
beforeEach(async () => {
  session = await openDuckdb();
});
afterEach(() => session.close());

const options = {
  timestampColumn: 'event_timestamp',
  joinKeys: [{ name: 'customer_id', type: 'string' as const }],
};

/** A Parquet entity file written by DuckDB from `select`. */
async function parquetFile(select: string): Promise<string> {
  const file = path.join(await mkdtemp(path.join(tmpdir(), 'fstore-entities-')), 'rows.parquet');
  await session.connection.run(`COPY (${select}) TO '${file}' (FORMAT parquet)`);
  return file;
}

describe('entity rows from a Parquet file whose columns already have their types', () => {
  it('keeps the file order, the other columns and the row numbers, and a second load replaces the first', async () => {
    const typed = await parquetFile(
      `SELECT * FROM (VALUES ('B', TIMESTAMP '2026-03-02 00:00:00', 1), ('A', TIMESTAMP '2026-03-01 12:00:00', 0), ('B', TIMESTAMP '2026-03-01 00:00:00', 1)) t(customer_id, event_timestamp, label)`,
    );
    const first = await loadEntities(session.connection, typed, options);
    expect(first).toMatchObject({
      table: 'fstore_entities',
      columns: ['customer_id', 'event_timestamp', 'label'],
      rows: 3,
      timeRange: { min: '2026-03-01T00:00:00.000000Z', max: '2026-03-02T00:00:00.000000Z' },
    });
    const rows = () =>
      queryRows(
        session.connection,
        'SELECT customer_id, CAST(event_timestamp AS VARCHAR) AS t, label, fstore_row_id FROM fstore_entities ORDER BY fstore_row_id',
      );
    expect(await rows()).toEqual([
      { customer_id: 'B', t: '2026-03-02 00:00:00', label: 1, fstore_row_id: 1 },
      { customer_id: 'A', t: '2026-03-01 12:00:00', label: 0, fstore_row_id: 2 },
      { customer_id: 'B', t: '2026-03-01 00:00:00', label: 1, fstore_row_id: 3 },
    ]);
    // A file that needs casts (an integer key column read as text) on the same connection.
    const cast = await parquetFile(
      `SELECT 7 AS customer_id, TIMESTAMPTZ '2026-03-05 12:00:00+02:00' AS event_timestamp`,
    );
    expect((await loadEntities(session.connection, cast, options)).rows).toBe(1);
    expect(
      await queryRows(
        session.connection,
        'SELECT customer_id, CAST(event_timestamp AS VARCHAR) AS t FROM fstore_entities',
      ),
    ).toEqual([{ customer_id: '7', t: '2026-03-05 10:00:00' }]);
    // And the typed file again, after the cast one.
    expect((await loadEntities(session.connection, typed, options)).rows).toBe(3);
    expect((await rows()).map((r) => r.customer_id)).toEqual(['B', 'A', 'B']);
  });
});
