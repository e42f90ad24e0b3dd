import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileRegistry, loadDefinitions } from '../../../lib/registry/index.ts';
import { athenaDialect } from '../../../lib/sql/athena-dialect.ts';
import { duckdbDialect } from '../../../lib/sql/duckdb-dialect.ts';
import { planPointInTime } from '../../../lib/sql/point-in-time-plan.ts';
import { renderTrainingSetSql } from '../../../lib/sql/render-training-set.ts';
import { repoRoot } from '../../helpers/run-fstore.ts';

// Both strategies give the same rows (the point-in-time and differential integration tests
// run each); which one a training set gets decides its cost, so the choice is checked here.

const examples = compileRegistry(await loadDefinitions(path.join(repoRoot, 'feature-defs')));
const options = { entityRelation: 'e', entityColumns: ['customer_id', 'event_timestamp'] };
const duckdb = duckdbDialect('/data/offline');
const athena = athenaDialect('fstore_dev');

describe('the point-in-time strategy of a training set', () => {
  it.each([
    ['plain views', { features: ['last_order:amount', 'customer_profile:plan'] }],
    ['plain and aggregation views', { service: 'churn_v1' }],
  ])(
    'is the ASOF join on DuckDB and the merge window on Athena by default, for %s',
    (_, request) => {
      const plan = planPointInTime(examples, request, { entityTimestampColumn: 'event_timestamp' });
      const onDuckdb = renderTrainingSetSql(plan, duckdb, options);
      const onAthena = renderTrainingSetSql(plan, athena, options);
      expect(onDuckdb).toContain('ASOF LEFT JOIN');
      expect(onDuckdb).not.toContain('fstore_win');
      expect(onAthena).not.toContain('ASOF');
      expect(onAthena).toContain('fstore_win');
    },
  );

  it('is the one named when a DuckDB caller names it', () => {
    const plan = planPointInTime(
      examples,
      { features: ['last_order:amount'] },
      { entityTimestampColumn: 'event_timestamp' },
    );
    const merged = renderTrainingSetSql(plan, duckdb, { ...options, strategy: 'merge-window' });
    expect(merged).not.toContain('ASOF');
    expect(merged).toContain('fstore_win');
    expect(renderTrainingSetSql(plan, duckdb, { ...options, strategy: 'asof' })).toContain(
      'ASOF LEFT JOIN',
    );
  });

  it('computes an aggregation view by a range join on the ASOF strategy and by windows on the merge window', () => {
    const plan = planPointInTime(
      examples,
      { features: ['order_stats:amount_sum_7d'] },
      { entityTimestampColumn: 'event_timestamp' },
    );
    const windowed = 'RANGE BETWEEN 604799999999 PRECEDING AND CURRENT ROW';
    expect(renderTrainingSetSql(plan, duckdb, options)).not.toContain(windowed);
    expect(renderTrainingSetSql(plan, duckdb, { ...options, strategy: 'merge-window' })).toContain(
      windowed,
    );
    expect(renderTrainingSetSql(plan, athena, options)).toContain(windowed);
  });
});
