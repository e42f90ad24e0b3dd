import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DuckdbSession, openDuckdb, queryRows } from '../../../lib/offline/duckdb-session.ts';
import { duckdbDialect } from '../../../lib/sql/duckdb-dialect.ts';
import type { PlannedAggregation, PlannedView } from '../../../lib/sql/point-in-time-plan.ts';
import { renderChangedAggregatesAt } from '../../../lib/sql/render-changed-aggregates.ts';

const duckdb = duckdbDialect('/data/offline');
const day = 86_400;
const aggregation = (fn: PlannedAggregation['function'], windowSeconds: number) => ({
  outputName: `amount_${fn}_${windowSeconds / day}d`,
  column: 'amount',
  columnType: 'float64' as const,
  function: fn,
  windowSeconds,
  type: 'float64' as const,
});
const viewOf = (aggregations: PlannedAggregation[]): PlannedView => ({
  view: 'customer_spend',
  source: 'orders',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
  timestampColumn: 'ordered_at',
  features: aggregations.map((a) => ({
    feature: a.outputName,
    type: a.type,
    sourceType: a.type,
    outputName: a.outputName,
  })),
  aggregations,
});
// The widest window listed first, and twice: the windows must be de-duplicated and sorted.
const weekAndDay = viewOf([
  aggregation('sum', 7 * day),
  aggregation('count', day),
  aggregation('avg', 7 * day),
]);
const agingMonth = viewOf([aggregation('count', day), aggregation('days_since_last', 30 * day)]);
const window = {
  after: '2026-03-09T00:00:00Z',
  until: '2026-03-10T00:00:00Z',
  newIngests: { seqRanges: [['100', '101']] as const },
};

// (customer_id, fstore_seq, ordered_at): customer cNN has the row of sequence number NN.
const rows: [number, string][] = [
  [1, '2026-03-08 12:00:00'], // left the 1d window since the last run
  [2, '2026-03-02 12:00:00'], // left the 7d window since the last run
  [3, '2026-03-09 12:00:00'], // dated since the last run
  [4, '2026-03-05 00:00:00'], // old, still inside every window: unchanged (but ages)
  [5, '2026-03-08 00:00:00'], // left the 1d window exactly at the last run: already written
  [6, '2026-03-09 00:00:00'], // leaves the 1d window exactly now
  [9, '2026-03-02 00:00:00'], // left the 7d window exactly at the last run
  [10, '2026-03-03 00:00:00'], // leaves the 7d window exactly now
  [11, '2026-03-10 00:00:00.000001'], // after the run's end
  [12, '2026-02-08 00:00:00'], // leaves the 30d window exactly now
  [100, '2026-02-20 00:00:00'], // a new ingest's row, inside 30d but not 7d
  [101, '2026-03-04 00:00:00'], // a new ingest's row, inside 7d
  [102, '2026-01-01 00:00:00'], // a row of no new ingest, outside every window
];
const relation = `(VALUES ${rows
  .map(
    ([seq, at]) =>
      `('c${String(seq).padStart(3, '0')}', ${seq}, TIMESTAMP '${at}', '${at.slice(0, 10)}')`,
  )
  .join(', ')}) t(customer_id, fstore_seq, ordered_at, dt)`;

let session: DuckdbSession;
beforeAll(async () => {
  session = await openDuckdb();
});
afterAll(() => session.close());

/** The sequence numbers of the rows that make their entity one to refresh. */
async function changedRows(sql: string): Promise<number[]> {
  const where = /\n {2}WHERE ([\s\S]*?)\n\) fstore_changed/.exec(sql)?.[1];
  if (!where) throw new Error(`no entity WHERE in:\n${sql}`);
  const found = await queryRows(
    session.connection,
    `SELECT fstore_seq FROM ${relation} WHERE ${where} ORDER BY fstore_seq`,
  );
  return found.map((r) => Number(r.fstore_seq));
}

describe('the entities an incremental aggregation run refreshes', () => {
  it('are those with a row that entered or left a window, or a new ingest’s row in the widest', async () => {
    expect(await changedRows(renderChangedAggregatesAt(weekAndDay, duckdb, window))).toEqual([
      1, 2, 3, 6, 10, 101,
    ]);
  });

  it('include every entity with a row in a days_since_last window, whose value ages', async () => {
    expect(await changedRows(renderChangedAggregatesAt(agingMonth, duckdb, window))).toEqual([
      1, 2, 3, 4, 5, 6, 9, 10, 12, 100, 101,
    ]);
  });

  it('are only those with a new ingest’s row when no time passed since the last run', async () => {
    const sameInstant = { ...window, after: window.until };
    expect(await changedRows(renderChangedAggregatesAt(weekAndDay, duckdb, sameInstant))).toEqual([
      101,
    ]);
  });

  it('resume after the last finished entity, in key order', async () => {
    const sql = renderChangedAggregatesAt(weekAndDay, duckdb, window, { afterKey: ['c006'] });
    expect(await changedRows(sql)).toEqual([10, 101]);
    expect(sql.trimEnd().endsWith('ORDER BY a."customer_id"')).toBe(true);
    const unordered = renderChangedAggregatesAt(weekAndDay, duckdb, window);
    expect(unordered).not.toContain('ORDER BY a.');
    expect(renderChangedAggregatesAt(weekAndDay, duckdb, window, { orderByKey: true })).toContain(
      'ORDER BY a."customer_id"',
    );
  });

  it('refuses a view with no aggregations, naming it', () => {
    const { aggregations: _none, ...passthrough } = weekAndDay;
    expect(() => renderChangedAggregatesAt(passthrough, duckdb, window)).toThrow(
      'view customer_spend has no aggregations',
    );
  });
});
