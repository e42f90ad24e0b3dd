import { describe, expect, it } from 'vitest';
import {
  defineAggregationView,
  defineEntity,
  defineSource,
} from '../../../lib/definitions/index.ts';
import { compileRegistry } from '../../../lib/registry/index.ts';
import { athenaDialect } from '../../../lib/sql/athena-dialect.ts';
import type { Dialect } from '../../../lib/sql/dialect.ts';
import { duckdbDialect } from '../../../lib/sql/duckdb-dialect.ts';
import { type PlannedView, planPointInTime } from '../../../lib/sql/point-in-time-plan.ts';
import {
  renderAggregatesAt,
  renderAggregationJoin,
  renderAggregationView,
} from '../../../lib/sql/render-aggregation.ts';
import { renderChangedAggregatesAt } from '../../../lib/sql/render-changed-aggregates.ts';
import { relationReads } from '../../helpers/relation-reads.ts';

// Trino evaluates a WITH query once per reference, so a scale CTE over the source, read twice,
// made Athena scan the source three times for a view with float sums.

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const orders = defineSource({
  name: 'orders',
  schema: { customer_id: 'string', amount: 'float64', tip: 'float32', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});

function plannedView(aggregations: Parameters<typeof defineAggregationView>[0]['aggregations']) {
  const registry = compileRegistry([
    {
      definition: defineAggregationView({
        name: 'order_stats',
        entities: [customer],
        source: orders,
        aggregations,
      }),
    },
  ]);
  const plan = planPointInTime(
    registry,
    { features: ['order_stats:*'] },
    { entityTimestampColumn: 'event_timestamp' },
  );
  return plan.views[0] as PlannedView;
}

const views = {
  'float sums and avgs of two columns': plannedView({
    amount: { functions: ['sum', 'avg', 'last'], windows: ['7d', '30d'] },
    tip: { functions: ['sum'], windows: ['1d'] },
  }),
  'no float sum': plannedView({ amount: { functions: ['count', 'max'], windows: ['7d'] } }),
};
const dialects: Record<string, Dialect> = {
  athena: athenaDialect('fstore_dev'),
  duckdb: duckdbDialect('/data/offline'),
};
const options = {
  entityRelation: 'fstore_entities',
  entityTimestampColumn: 'event_timestamp',
  entityTimeRange: { min: '2026-03-01T00:00:00Z', max: '2026-05-31T12:00:00Z' },
};

describe('the source reads of aggregation SQL, counted as Trino runs a WITH query (once per reference)', () => {
  it('counts a CTE once per reference and a nested one through its parent', () => {
    const source = '"db"."orders"';
    expect(relationReads(`SELECT * FROM ${source}`, source)).toBe(1);
    expect(
      relationReads(
        `WITH a AS (SELECT 1 FROM ${source}), b AS (SELECT 2) SELECT * FROM a JOIN b ON TRUE CROSS JOIN a`,
        source,
      ),
    ).toBe(2);
    expect(
      relationReads(
        `WITH outer_q AS (WITH inner_q AS (SELECT 1 FROM ${source}) SELECT * FROM inner_q JOIN inner_q ON TRUE) SELECT * FROM outer_q JOIN outer_q ON TRUE, ${source}`,
        source,
      ),
    ).toBe(5);
  });

  for (const [viewName, view] of Object.entries(views))
    for (const [dialectName, dialect] of Object.entries(dialects)) {
      const source = dialect.sourceRelation('orders');
      it(`reads the source once in the window form (${viewName}, ${dialectName})`, () => {
        expect(relationReads(renderAggregationView(view, dialect, options), source)).toBe(1);
      });
      if (dialectName === 'duckdb')
        it(`reads the source once in the range join (${viewName}, ${dialectName})`, () => {
          expect(relationReads(renderAggregationJoin(view, dialect, options), source)).toBe(1);
        });
      it(`reads the source twice at materialization, for the changed entities and their aggregates (${viewName}, ${dialectName})`, () => {
        const window = { after: '2026-03-01T00:00:00Z', until: '2026-03-02T00:00:00Z' };
        const renderings = [
          renderAggregatesAt(view, dialect, window),
          renderChangedAggregatesAt(view, dialect, {
            ...window,
            newIngests: { seqRanges: [['1', '9']] },
          }),
        ];
        for (const sql of renderings) expect(relationReads(sql, source)).toBe(2);
      });
    }
});
