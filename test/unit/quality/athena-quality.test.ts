import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../../lib/definitions/index.ts';
import { AthenaQueryRunner } from '../../../lib/offline/athena-query-runner.ts';
import { viewStatistics } from '../../../lib/quality/feature-stats.ts';
import { athenaQueryRows } from '../../../lib/quality/query-engine.ts';
import { validateViewData } from '../../../lib/quality/validate-data.ts';
import { compileRegistry } from '../../../lib/registry/index.ts';
import { athenaDialect } from '../../../lib/sql/athena-dialect.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const profiles = defineSource({
  name: 'profiles',
  schema: { customer_id: 'string', age: 'int32', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const registry = compileRegistry([
  {
    definition: defineFeatureView({
      name: 'profile',
      entities: [customer],
      source: profiles,
      features: { age: { type: 'int32', min: 18 } },
    }),
  },
]);
const athena = mockClient(AthenaClient);
const runner = new AthenaQueryRunner({
  athena: new AthenaClient({ region: 'eu-west-1' }),
  workgroup: 'fstore-dev',
  database: 'fstore_dev',
  sleep: async () => {},
});
const result = (columns: [string, string][], values: (string | undefined)[]) => ({
  ResultSet: {
    ResultSetMetadata: { ColumnInfo: columns.map(([Name, Type]) => ({ Name, Type })) },
    Rows: [
      { Data: columns.map(([name]) => ({ VarCharValue: name })) },
      { Data: values.map((v) => (v === undefined ? {} : { VarCharValue: v })) },
    ],
  },
});

describe('data quality on Athena (mocked)', () => {
  beforeEach(() => {
    athena.reset();
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q1' });
    athena
      .on(GetQueryExecutionCommand)
      .resolves({ QueryExecution: { Status: { State: 'SUCCEEDED' } } });
  });

  it('computes statistics in Athena with approx_percentile and types the results back', async () => {
    athena.on(GetQueryResultsCommand).resolves(
      result(
        [
          ['n', 'bigint'],
          ['present', 'bigint'],
          ['distinct_values', 'bigint'],
          ['min_value', 'integer'],
          ['max_value', 'integer'],
          ['mean', 'double'],
          ['stddev', 'double'],
          ['q', 'array(double)'],
        ],
        ['10', '9', '7', '18', '90', '41.5', '12.25', '[20.0, 30.0, 40.0, 55.5, 88.0]'],
      ),
    );
    const stats = await viewStatistics({
      query: athenaQueryRows(runner),
      dialect: athenaDialect('fstore_dev'),
      registry,
      view: 'profile',
    });
    const sql = athena.commandCalls(StartQueryExecutionCommand)[0]?.args[0].input.QueryString;
    expect(sql).toContain(
      'approx_percentile(CAST("age" AS DOUBLE), ARRAY[0.05, 0.25, 0.5, 0.75, 0.95])',
    );
    expect(sql).toContain('"fstore_dev"."profiles"');
    expect(stats.features[0]).toMatchObject({
      count: 9,
      nullPercent: 10,
      distinct: 7,
      min: 18,
      max: 90,
      mean: 41.5,
      quantiles: { p05: 20, p25: 30, p50: 40, p75: 55.5, p95: 88 },
    });
  });

  it('counts rule violations in Athena and fetches examples only for failing rules', async () => {
    athena
      .on(GetQueryResultsCommand)
      .resolvesOnce(
        result(
          [
            ['fstore_rows', 'bigint'],
            ['check_0', 'bigint'],
            ['null_age', 'bigint'],
          ],
          ['5', '2', '0'],
        ),
      )
      .resolvesOnce(
        result(
          [
            ['customer_id', 'varchar'],
            ['event_ts', 'timestamp'],
            ['age', 'integer'],
          ],
          ['C7', '2026-03-01 00:00:00.000', '12'],
        ),
      );
    const report = await validateViewData({
      query: athenaQueryRows(runner),
      dialect: athenaDialect('fstore_dev'),
      registry,
      view: 'profile',
      start: '2026-03-01',
    });
    expect(report).toMatchObject({ rows: 5, passed: false });
    expect(report.results[0]).toMatchObject({
      rule: 'min 18',
      violations: 2,
      examples: [{ customer_id: 'C7', age: 12 }],
    });
    const sql = athena.commandCalls(StartQueryExecutionCommand)[0]?.args[0].input.QueryString;
    expect(sql).toContain(`count(*) FILTER (WHERE "age" < 18)`);
    expect(sql).toContain(`"event_ts" >= TIMESTAMP '2026-03-01 00:00:00.000000'`);
  });
});
