import { describe, expect, it } from 'vitest';
import { renderMaterializationRows, resumeKeyOf } from '../../../lib/materialize/row-source.ts';
import { athenaDialect } from '../../../lib/sql/athena-dialect.ts';
import type { PlannedView } from '../../../lib/sql/point-in-time-plan.ts';
import { renderAggregatesAt } from '../../../lib/sql/render-aggregation.ts';
import { renderChangedAggregatesAt } from '../../../lib/sql/render-changed-aggregates.ts';
import { renderLatestPerEntity } from '../../../lib/sql/render-latest.ts';

const athena = athenaDialect('fstore_dev');
const latestView: PlannedView = {
  view: 'store_latest',
  source: 'sales',
  joinKeys: [
    { name: 'region', type: 'string' },
    { name: 'store_id', type: 'int64' },
  ],
  timestampColumn: 'sold_at',
  features: [{ feature: 'amount', type: 'float64', sourceType: 'float64', outputName: 'amount' }],
};
const aggregationView: PlannedView = {
  ...latestView,
  view: 'store_totals',
  features: [
    {
      feature: 'amount_sum_7d',
      type: 'float64',
      sourceType: 'float64',
      outputName: 'amount_sum_7d',
    },
  ],
  aggregations: [
    {
      outputName: 'amount_sum_7d',
      column: 'amount',
      columnType: 'float64',
      function: 'sum',
      windowSeconds: 7 * 86_400,
      type: 'float64',
    },
  ],
};
const until = '2026-03-02T00:00:00Z';
const after = '2026-03-01T00:00:00Z';
const newIngests = { seqRanges: [['10', '20']] as const };

describe('the SQL of a materialization query', () => {
  it('is the newest row per entity for a passthrough view, incremental or not', () => {
    expect(renderMaterializationRows({ view: latestView, window: { until } }, athena)).toBe(
      renderLatestPerEntity(latestView, athena, { until }, {}),
    );
    const incremental = { after, until, newIngests };
    expect(
      renderMaterializationRows({ view: latestView, window: incremental }, athena, {
        orderByKey: true,
      }),
    ).toBe(renderLatestPerEntity(latestView, athena, incremental, { orderByKey: true }));
  });

  it('is the aggregates at the window’s end for an aggregation view on a full run', () => {
    expect(
      renderMaterializationRows({ view: aggregationView, window: { after, until } }, athena),
    ).toBe(renderAggregatesAt(aggregationView, athena, { after, until }, {}));
  });

  it('is the aggregates of the changed entities only on an incremental run', () => {
    const sql = renderMaterializationRows(
      { view: aggregationView, window: { after, until, newIngests } },
      athena,
    );
    expect(sql).toBe(
      renderChangedAggregatesAt(aggregationView, athena, { after, until, newIngests }, {}),
    );
    expect(sql).not.toBe(renderAggregatesAt(aggregationView, athena, { after, until }, {}));
  });

  it('refuses an incremental aggregation run without the end of the last run, naming the view', () => {
    expect(() =>
      renderMaterializationRows({ view: aggregationView, window: { until, newIngests } }, athena),
    ).toThrow('an incremental run of store_totals needs the end of the last run');
  });

  it('resumes after the given entity, whatever the view kind, and keeps the caller’s options', () => {
    const afterKey = ['b', 7] as const;
    expect(
      renderMaterializationRows({ view: latestView, window: { until }, afterKey }, athena, {
        orderByKey: true,
      }),
    ).toBe(renderLatestPerEntity(latestView, athena, { until }, { orderByKey: true, afterKey }));
    expect(
      renderMaterializationRows({ view: aggregationView, window: { until }, afterKey }, athena),
    ).toBe(renderAggregatesAt(aggregationView, athena, { until }, { afterKey }));
    expect(
      renderMaterializationRows(
        { view: aggregationView, window: { after, until, newIngests }, afterKey },
        athena,
      ),
    ).toBe(
      renderChangedAggregatesAt(
        aggregationView,
        athena,
        { after, until, newIngests },
        { afterKey },
      ),
    );
  });
});

describe('the resume key of a row', () => {
  it('takes the join keys in key order, numbers and strings as they are, anything else as text', () => {
    expect(resumeKeyOf(latestView, { store_id: 7, region: 'b', amount: 1.5 })).toEqual(['b', 7]);
    expect(resumeKeyOf(latestView, { region: 'b', store_id: 9007199254740993n })).toEqual([
      'b',
      '9007199254740993',
    ]);
  });
});
