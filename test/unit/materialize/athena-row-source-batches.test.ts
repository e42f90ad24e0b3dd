import { describe, expect, it } from 'vitest';
import { athenaRowSource, renderAthenaLatest } from '../../../lib/materialize/athena-row-source.ts';
import { renderMaterializationRows } from '../../../lib/materialize/row-source.ts';
import type { AthenaQueryRunner } from '../../../lib/offline/athena-query-runner.ts';
import { athenaDialect } from '../../../lib/sql/athena-dialect.ts';
import type { PlannedView } from '../../../lib/sql/point-in-time-plan.ts';

const athena = athenaDialect('fstore_dev');
const view: PlannedView = {
  view: 'customer_profile',
  source: 'profiles',
  joinKeys: [
    { name: 'country', type: 'string' },
    { name: 'customer_id', type: 'int64' },
  ],
  timestampColumn: 'updated_at',
  features: [
    { feature: 'tier', type: 'string', sourceType: 'string', outputName: 'tier' },
    { feature: 'tags', type: 'list<string>', sourceType: 'list<string>', outputName: 'tags' },
  ],
};
const query = { view, window: { until: '2026-03-02T00:00:00Z' } };

/** An Athena runner that records what it was asked and yields `rows` as typed rows. */
function fakeRunner(rows: Record<string, unknown>[]) {
  const calls: { sql: string; options: unknown }[] = [];
  const runner = {
    async run(sql: string, options: unknown) {
      calls.push({ sql, options });
      return { queryExecutionId: 'q-1' };
    },
    async *typedRows(id: string) {
      expect(id).toBe('q-1');
      for (const row of rows) yield { ...row };
    },
  };
  return { runner: runner as unknown as AthenaQueryRunner, calls };
}

const rowsOf = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ country: 'fr', customer_id: i, tier: 't', tags: '[]' }));

async function batchesOf(source: ReturnType<typeof athenaRowSource>) {
  const batches: Record<string, unknown>[][] = [];
  for await (const batch of source.latestRows(query)) batches.push(batch);
  return batches;
}

describe('the Athena row source of the materializer', () => {
  it('yields rows in batches of 1,000 by default, the last one partial, never an empty one', async () => {
    const { runner } = fakeRunner(rowsOf(2_500));
    const batches = await batchesOf(athenaRowSource(runner, athena));
    expect(batches.map((b) => b.length)).toEqual([1_000, 1_000, 500]);
    expect(batches.flat().map((r) => r.customer_id)).toEqual([...Array(2_500).keys()]);
    const exact = await batchesOf(
      athenaRowSource(fakeRunner(rowsOf(4)).runner, athena, { pageRows: 2 }),
    );
    expect(exact.map((b) => b.length)).toEqual([2, 2]);
    expect(await batchesOf(athenaRowSource(fakeRunner([]).runner, athena))).toEqual([]);
  });

  it('parses list features from their JSON text, and leaves other text alone', async () => {
    const { runner } = fakeRunner([
      { country: 'fr', customer_id: 1, tier: '["gold"]', tags: '["a","b,c"]' },
      { country: 'fr', customer_id: 2, tier: 'x', tags: null },
    ]);
    const [batch] = await batchesOf(athenaRowSource(runner, athena));
    expect(batch).toEqual([
      { country: 'fr', customer_id: 1, tier: '["gold"]', tags: ['a', 'b,c'] },
      { country: 'fr', customer_id: 2, tier: 'x', tags: null },
    ]);
  });

  it('sends one query, the key-ordered latest rows, passing the abort signal when given', async () => {
    const signal = new AbortController().signal;
    const withSignal = fakeRunner(rowsOf(1));
    await batchesOf(athenaRowSource(withSignal.runner, athena, { signal }));
    expect(withSignal.calls).toEqual([
      { sql: renderAthenaLatest(query, athena), options: { signal } },
    ]);
    const without = fakeRunner(rowsOf(1));
    await batchesOf(athenaRowSource(without.runner, athena));
    expect(without.calls[0]?.options).toEqual({});
  });
});

describe('the Athena SQL of the latest rows', () => {
  it('orders by the join keys outside the subquery and sends lists as JSON text', () => {
    expect(renderAthenaLatest(query, athena)).toBe(
      [
        `SELECT "country", "customer_id", "tier", json_format(CAST("tags" AS JSON)) AS "tags", event_ts, created_ts, fstore_seq`,
        `FROM (${renderMaterializationRows(query, athena)}) fstore_latest`,
        'ORDER BY "country", "customer_id"',
      ].join('\n'),
    );
  });
});
