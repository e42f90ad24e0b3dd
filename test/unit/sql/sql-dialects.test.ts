import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileRegistry, loadDefinitions, type Registry } from '../../../lib/registry/index.ts';
import { athenaDialect } from '../../../lib/sql/athena-dialect.ts';
import { duckdbDialect } from '../../../lib/sql/duckdb-dialect.ts';
import { PlanError, planPointInTime } from '../../../lib/sql/point-in-time-plan.ts';
import { renderLatestPerEntity } from '../../../lib/sql/render-latest.ts';
import { renderPointInTime } from '../../../lib/sql/render-point-in-time.ts';
import { repoRoot } from '../../helpers/run-fstore.ts';

const registry: Registry = compileRegistry(
  await loadDefinitions(path.join(repoRoot, 'feature-defs')),
);
const renderOptions = {
  entityRelation: '"fstore_entities"',
  entityColumns: ['customer_id', 'event_timestamp', 'churned'],
  entityTimeRange: { min: '2026-03-01T00:00:00Z', max: '2026-05-31T12:00:00Z' },
};
const plan = planPointInTime(
  registry,
  { service: 'churn_v1' },
  { entityTimestampColumn: 'event_timestamp' },
);
const athena = renderPointInTime(plan, athenaDialect('fstore_dev'), renderOptions);
const duckdb = renderPointInTime(plan, duckdbDialect('/data/offline'), renderOptions);

/** Aliases of the final SELECT, i.e. the output columns. */
const outputColumns = (sql: string) => {
  const finalSelect = sql.slice(sql.lastIndexOf('\nSELECT '));
  return [...finalSelect.matchAll(/(?:AS |e\.)"([a-z_0-9]+)"(?:,|\n)/g)].map((m) => m[1]);
};

describe('point-in-time SQL', () => {
  it('renders churn_v1 for Athena as in the snapshot', async () => {
    await expect(athena).toMatchFileSnapshot('__snapshots__/churn_v1.athena.sql');
  });

  it('renders churn_v1 for DuckDB as in the snapshot', async () => {
    await expect(duckdb).toMatchFileSnapshot('__snapshots__/churn_v1.duckdb.sql');
  });

  it('renders both dialects from one plan: same views, same output columns in the same order', () => {
    expect(outputColumns(athena)).toEqual(outputColumns(duckdb));
    expect(outputColumns(athena)).toEqual([...renderOptions.entityColumns, ...plan.outputNames]);
    expect(athena.match(/ AS \(\n/g)?.length).toBe(plan.views.length);
    expect(duckdb.match(/ AS \(\n/g)?.length).toBe(plan.views.length);
  });

  it('uses Trino spellings in the Athena dialect and none of the DuckDB-only ones', () => {
    expect(athena).toContain(') IGNORE NULLS OVER (');
    expect(athena).toContain('CAST(ROW(');
    expect(athena).toContain('"fstore_dev"."customer_profiles"');
    for (const duckOnly of [
      'struct_pack',
      'read_parquet',
      'IGNORE NULLS)',
      'QUALIFY',
      'EXCLUDE',
      '::',
      ' := ',
    ]) {
      expect(athena, duckOnly).not.toContain(duckOnly);
    }
    for (const differs of ['from_iso8601_timestamp', 'date_format', 'date_add', 'VALUES ']) {
      expect(athena, differs).not.toContain(differs);
      expect(duckdb, differs).not.toContain(differs);
    }
  });

  it('uses DuckDB spellings in the DuckDB dialect and none of the Trino-only ones', () => {
    expect(duckdb).toContain('last_value(fstore_values IGNORE NULLS) OVER (');
    expect(duckdb).toContain("read_parquet('/data/offline/customer_profiles/*/*.parquet'");
    expect(duckdb).not.toContain('CAST(ROW(');
    expect(duckdb).not.toContain(') IGNORE NULLS OVER');
  });

  it('has no range join: each view is one sorted merge of source and entity rows', () => {
    for (const sql of [athena, duckdb]) {
      expect(sql.match(/UNION ALL/g)?.length).toBe(plan.views.length);
      expect(sql).not.toMatch(/JOIN[^\n]*(<=|>=|BETWEEN)/);
    }
  });

  it('prunes dt partitions from the entity time range minus each view TTL', () => {
    // customer_profile has ttl 30d: 2026-03-01 minus 30 days is 2026-01-30.
    expect(athena).toContain(`"dt" >= '2026-01-30' AND "dt" <= '2026-05-31'`);
    // customer_contract has ttl 365d.
    expect(athena).toContain(`"dt" >= '2025-03-01' AND "dt" <= '2026-05-31'`);
  });

  it('applies TTL inclusively at the entity time', () => {
    expect(athena).toContain(
      `"v0".fstore_win."fstore_event_ts" >= (e."event_timestamp" - INTERVAL '2592000' SECOND)`,
    );
  });

  it('quotes identifiers and escapes literals', () => {
    const sql = renderPointInTime(plan, duckdbDialect("/tmp/o'brien"), renderOptions);
    expect(sql).toContain("read_parquet('/tmp/o''brien/customer_profiles/*/*.parquet'");
    expect(sql).toContain('PARTITION BY "customer_id"');
  });
});

describe('planPointInTime', () => {
  it('names features by alias from a service, or view__feature when asked', () => {
    expect(plan.outputNames).toContain('last_order_amount');
    const full = planPointInTime(
      registry,
      { service: 'churn_online' },
      { entityTimestampColumn: 'ts', fullFeatureNames: true },
    );
    expect(full.outputNames).toEqual([
      'customer_profile__plan',
      'customer_profile__monthly_charges',
      'customer_profile__tenure_months',
      'customer_contract__contract_type',
      'last_order__amount',
    ]);
  });

  it('expands view:* and a bare view name to all features of the view', () => {
    expect(
      planPointInTime(registry, { features: ['last_order:*'] }, { entityTimestampColumn: 'ts' })
        .outputNames,
    ).toEqual(['amount', 'category']);
    expect(
      planPointInTime(registry, { features: ['last_order'] }, { entityTimestampColumn: 'ts' })
        .outputNames,
    ).toEqual(['amount', 'category']);
  });

  it.each([
    [{ service: 'churn_v2' }, 'no feature service "churn_v2"'],
    [{ features: ['nope:age'] }, 'no feature view "nope"'],
    [{ features: ['customer_profile:height'] }, 'view "customer_profile" has no feature "height"'],
    [{ features: ['a:b:c'] }, '"a:b:c" is not a feature reference'],
    [{ features: [] }, 'no features requested'],
  ])('rejects %j', (request, message) => {
    expect(() => planPointInTime(registry, request, { entityTimestampColumn: 'ts' })).toThrow(
      PlanError,
    );
    expect(() => planPointInTime(registry, request, { entityTimestampColumn: 'ts' })).toThrow(
      message,
    );
  });

  it('refuses a feature named like the entity timestamp column', () => {
    expect(() =>
      planPointInTime(
        registry,
        { features: ['customer_profile:age'] },
        { entityTimestampColumn: 'age' },
      ),
    ).toThrow('collides with the entity timestamp column');
  });
});

describe('latest row per entity SQL', () => {
  const view = plan.views[0];
  it('bounds event time and partitions by the window and ranks by the winner rule', () => {
    if (!view) throw new Error('no view');
    const sql = renderLatestPerEntity(view, athenaDialect('fstore_dev'), {
      after: '2026-03-01T00:00:00Z',
      until: '2026-03-02T06:00:00Z',
    });
    expect(sql).toContain(`"event_ts" > TIMESTAMP '2026-03-01 00:00:00.000000'`);
    expect(sql).toContain(`"event_ts" <= TIMESTAMP '2026-03-02 06:00:00.000000'`);
    expect(sql).toContain(`"dt" >= '2026-03-01'`);
    expect(sql).toContain(
      'ORDER BY "event_ts" DESC, "created_ts" DESC NULLS LAST, fstore_seq DESC',
    );
  });
});
