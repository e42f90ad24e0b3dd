import { describe, expect, it } from 'vitest';
import {
  defineAggregationView,
  defineEntity,
  defineSource,
} from '../../../lib/definitions/index.ts';
import { compileRegistry } from '../../../lib/registry/index.ts';
import { athenaDialect } from '../../../lib/sql/athena-dialect.ts';
import { duckdbDialect } from '../../../lib/sql/duckdb-dialect.ts';
import { roundedSum } from '../../../lib/sql/exact-sum.ts';
import { type PlannedView, planPointInTime } from '../../../lib/sql/point-in-time-plan.ts';
import { renderAggregatesAt } from '../../../lib/sql/render-aggregation.ts';
import { renderChangedAggregatesAt } from '../../../lib/sql/render-changed-aggregates.ts';
import {
  chooseSumScales,
  renderRunningTotalsBuild,
  renderSumScalesQuery,
  runningTotalsSpec,
} from '../../../lib/sql/render-running-totals.ts';
import { renderTrainingSetSql } from '../../../lib/sql/render-training-set.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const orders = defineSource({
  name: 'orders',
  schema: { customer_id: 'string', amount: 'float64', category: 'string', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const registry = compileRegistry([
  {
    definition: defineAggregationView({
      name: 'order_stats',
      entities: [customer],
      source: orders,
      aggregations: {
        amount: { functions: ['sum', 'last'], windows: ['7d', '30d'] },
        category: { functions: ['count_distinct'], windows: ['30d'] },
      },
    }),
  },
]);
const plan = planPointInTime(
  registry,
  { features: ['order_stats:*'] },
  { entityTimestampColumn: 'event_timestamp' },
);
const options = {
  entityRelation: '"fstore_entities"',
  entityColumns: ['customer_id', 'event_timestamp'],
  entityTimeRange: { min: '2026-03-01T00:00:00Z', max: '2026-05-31T12:00:00Z' },
  matchFlags: true,
};

describe('aggregation SQL', () => {
  const athena = renderTrainingSetSql(plan, athenaDialect('fstore_dev'), options);
  const duckdb = renderTrainingSetSql(plan, duckdbDialect('/data/offline'), options);

  it('renders Athena as in the snapshot', async () => {
    await expect(athena).toMatchFileSnapshot('__snapshots__/order_stats.athena.sql');
  });

  it('uses exclusive lower window edges in microseconds and Trino spellings for Athena', () => {
    expect(athena).toContain('RANGE BETWEEN 604799999999 PRECEDING AND CURRENT ROW');
    expect(athena).toContain('RANGE BETWEEN 2591999999999 PRECEDING AND CURRENT ROW');
    expect(athena).toContain('cardinality(array_distinct(filter(array_agg(');
    expect(athena).toContain('to_unixtime(');
    expect(athena).not.toMatch(/epoch_us|read_parquet|count\(DISTINCT/);
    expect(duckdb).toContain(
      'count(DISTINCT s."fstore_c_category") FILTER (WHERE s.fstore_t > e.fstore_e_t - 2592000000000)',
    );
    expect(duckdb).toContain('epoch_us(');
  });

  it('reads only partitions the widest window can reach from the entity times', () => {
    expect(athena).toContain(`"dt" >= '2026-01-30'`);
    expect(athena).toContain(`"dt" <= '2026-05-31'`);
  });

  it('asks, at materialization, for every entity with a row in the widest window before the last run', () => {
    const sql = renderAggregatesAt(
      plan.views[0] as never,
      duckdbDialect('/data/offline'),
      {
        after: '2026-03-01T00:00:00Z',
        until: '2026-03-02T00:00:00Z',
      },
      { orderByKey: true, afterKey: ['C9'] },
    );
    expect(sql).toContain(`"event_ts" > TIMESTAMP '2026-01-30 00:00:00.000000'`);
    expect(sql).toContain(`"event_ts" <= TIMESTAMP '2026-03-02 00:00:00.000000'`);
    expect(sql).toContain(`("customer_id" > 'C9')`);
    expect(sql).toMatch(/ORDER BY a\."customer_id"$/);
  });

  it('numbers the entities of a materialization in key order, so that both reads of the numbering agree on Athena', () => {
    const scheduled = {
      after: '2026-03-01T00:00:00Z',
      until: '2026-03-02T00:00:00Z',
      newIngests: { seqRanges: [['1', '9']] },
    } as const;
    const renderings = [
      renderAggregatesAt(plan.views[0] as never, athenaDialect('fstore_dev'), scheduled),
      renderChangedAggregatesAt(plan.views[0] as never, athenaDialect('fstore_dev'), scheduled),
    ];
    for (const sql of renderings) {
      expect(sql).toContain('row_number() OVER (ORDER BY "customer_id") AS fstore_row_id');
      expect(sql).not.toContain('row_number() OVER ()');
    }
  });
});

describe('running totals SQL', () => {
  const view = plan.views[0] as PlannedView;
  const dialect = duckdbDialect('/data/offline');
  const build = renderRunningTotalsBuild(view, dialect, new Map([['amount', -62]]));
  const totals = renderTrainingSetSql(plan, dialect, {
    ...options,
    runningTotals: new Map([
      [
        'order_stats',
        {
          relation: "read_parquet('/totals.parquet')",
          keyIds: "read_parquet('/key-ids.parquet')",
          sumScales: new Map([['amount', -62]]),
        },
      ],
    ]),
  });

  const rounding = (window: number) =>
    `${roundedSum(`"fstore_sum_amount@${window}"`, '-62', dialect)} AS "fstore_sum_amount@${window}"`;

  it('renders the build and the lookup as in the snapshots', async () => {
    await expect(build).toMatchFileSnapshot('__snapshots__/order_stats.running-totals-build.sql');
    await expect(totals).toMatchFileSnapshot('__snapshots__/order_stats.running-totals.sql');
  });

  it('keeps float sums as exact integers times 2^scale and rounds a window sum once', () => {
    expect(build).toContain(
      'sum(CAST(CAST((CAST("amount" AS DOUBLE) * power(CAST(2 AS DOUBLE), -(-62))) AS HUGEINT) AS DECIMAL(38, 0))) OVER (',
    );
    for (const window of [604800, 2592000])
      expect(totals.split(rounding(window)), `rounding of the ${window} s window`).toHaveLength(2);
  });

  it('rounds each float window sum once, for the sum and the avg of that window alike', () => {
    const sumAndAvg = compileRegistry([
      {
        definition: defineAggregationView({
          name: 'order_stats',
          entities: [customer],
          source: orders,
          aggregations: { amount: { functions: ['sum', 'avg'], windows: ['7d'] } },
        }),
      },
    ]);
    const sql = renderTrainingSetSql(
      planPointInTime(
        sumAndAvg,
        { features: ['order_stats:*'] },
        { entityTimestampColumn: 'event_timestamp' },
      ),
      dialect,
      {
        ...options,
        runningTotals: new Map([
          [
            'order_stats',
            {
              relation: "read_parquet('/totals.parquet')",
              keyIds: "read_parquet('/key-ids.parquet')",
              sumScales: new Map([['amount', -62]]),
            },
          ],
        ]),
      },
    );
    expect(sql.split(roundedSum('"fstore_sum_amount@604800"', '-62', dialect))).toHaveLength(2);
    expect(sql).toContain('THEN "fstore_sum_amount@604800" END AS DOUBLE) AS "amount_sum_7d"');
    expect(sql).toContain(
      'THEN CAST("fstore_sum_amount@604800" AS DOUBLE) / "fstore_count_amount@604800" END AS DOUBLE) AS "amount_avg_7d"',
    );
  });

  it('computes the exact parts of a float sum once for the sum and the avg of one window, in the range join and the window form', () => {
    const sumAndAvg = compileRegistry([
      {
        definition: defineAggregationView({
          name: 'order_stats',
          entities: [customer],
          source: orders,
          aggregations: { amount: { functions: ['sum', 'avg'], windows: ['7d', '30d'] } },
        }),
      },
    ]);
    const plan = planPointInTime(
      sumAndAvg,
      { features: ['order_stats:*'] },
      { entityTimestampColumn: 'event_timestamp' },
    );
    const join = renderTrainingSetSql(plan, dialect, { ...options, strategy: 'asof' });
    const windowForm = renderTrainingSetSql(plan, athenaDialect('fstore_offline'), options);
    for (const sql of [join, windowForm])
      for (const window of [604800, 2592000]) {
        // One exact sum, one double sum and one count per window, read by both features.
        expect(sql.split(`AS "fstore_s_${window}_x_amount"`)).toHaveLength(2);
        expect(sql.split(`AS "fstore_s_${window}_n_amount"`)).toHaveLength(2);
      }
  });

  it('keeps one row per key and event time, whose totals include every row at that time', () => {
    expect(build).toContain('ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW');
    expect(build).toMatch(/QUALIFY lead\(fstore_t\) OVER \(.*\) IS DISTINCT FROM fstore_t$/);
    expect(build).not.toContain('category');
  });

  it('looks totals up at t and at each window edge with one ASOF join, and leaves count_distinct to the range join', () => {
    expect(totals.match(/ASOF LEFT JOIN/g)).toHaveLength(1);
    expect(totals).toContain('r.fstore_t <= p.fstore_x');
    expect(totals).toContain('(VALUES (0, 0), (1, 604800000000), (2, 2592000000000))');
    expect(totals).toContain('GROUP BY p.fstore_probe // 3');
    expect(totals).toContain('count(DISTINCT s."fstore_c_category")');
  });

  it('looks totals up by a hash join on key id and time bucket, not ASOF, when the totals come with buckets', () => {
    const bucketed = renderTrainingSetSql(plan, dialect, {
      ...options,
      runningTotals: new Map([
        [
          'order_stats',
          {
            relation: "read_parquet('/totals.parquet')",
            keyIds: "read_parquet('/key-ids.parquet')",
            sumScales: new Map([['amount', -62]]),
            buckets: {
              relation: "read_parquet('/buckets.parquet')",
              keys: "read_parquet('/buckets.keys.parquet')",
            },
          },
        ],
      ]),
    });
    expect(bucketed).not.toContain('ASOF');
    // Each key's width and last time come with its id from the buckets' key rows.
    expect(bucketed).toContain(
      'LEFT JOIN read_parquet(\'/buckets.keys.parquet\') fstore_i ON fstore_i."customer_id" = fstore_en."customer_id"',
    );
    expect(bucketed).not.toContain("read_parquet('/key-ids.parquet')");
    expect(bucketed).toContain(
      'least(e.fstore_e_t - b.fstore_back, e.fstore_t_last) // e.fstore_width AS fstore_bucket',
    );
    expect(bucketed).toContain("FROM read_parquet('/buckets.parquet')) r");
    expect(bucketed).toContain(
      'ON r.fstore_key_id = p.fstore_key_id AND r.fstore_bucket = p.fstore_bucket',
    );
    expect(bucketed).toContain(
      'AND r.fstore_t <= p.fstore_x AND p.fstore_x < coalesce(r.fstore_t_next, 9223372036854775807)',
    );
    expect(bucketed).toContain('GROUP BY p.fstore_probe // 3');
  });

  it('are identified by the aggregations they cover, and refuse a view they answer nothing of', () => {
    const only = planPointInTime(
      registry,
      { features: ['order_stats:amount_sum_7d'] },
      { entityTimestampColumn: 'event_timestamp' },
    ).views[0] as PlannedView;
    expect(runningTotalsSpec(only)).not.toEqual(runningTotalsSpec(view));
    expect(runningTotalsSpec({ ...view, features: [] })).toEqual(runningTotalsSpec(view));
    const distinct = planPointInTime(
      registry,
      { features: ['order_stats:category_count_distinct_30d'] },
      { entityTimestampColumn: 'event_timestamp' },
    ).views[0] as PlannedView;
    expect(() => renderRunningTotalsBuild(distinct, dialect)).toThrow(
      /nothing running totals answer/,
    );
  });
});

describe('sum scales of running totals', () => {
  const view = plan.views[0] as PlannedView;
  const checks = (lowest: number | null, magnitude: number | null, bad = 0) => ({
    'amount@lo': lowest,
    'amount@abs': magnitude,
    'amount@bad': bad,
  });

  it('scales float sums below the last bit of the smallest value', () => {
    // 0.01 .. 500: log2(0.01) rounds down to -7, and 54 bits below it.
    expect(chooseSumScales(view, checks(-7, 5e9))).toEqual(new Map([['amount', -61]]));
    expect(chooseSumScales(view, checks(null, null))).toEqual(new Map([['amount', 0]]));
  });

  it('falls back to double sums when the span does not fit 124 bits or a value is not finite', () => {
    expect(chooseSumScales(view, checks(-30, 1e15))).toEqual(new Map());
    expect(chooseSumScales(view, checks(-7, 5e9, 1))).toEqual(new Map());
    expect(chooseSumScales(view, checks(-1000, 1))).toEqual(new Map());
    expect(chooseSumScales(view, {})).toEqual(new Map());
  });

  it('asks for the smallest exponent, the sum of magnitudes and non-finite values in one query', () => {
    const sql = renderSumScalesQuery(view, duckdbDialect('/data/offline')) ?? '';
    expect(sql).toContain('AS "amount@lo"');
    expect(sql).toContain('AS "amount@abs"');
    expect(sql).toContain('AS "amount@bad"');
    expect(sql).not.toContain('category');
  });
});
