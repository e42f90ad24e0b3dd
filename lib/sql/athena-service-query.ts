import type { Registry } from '../registry/index.ts';
import { athenaDialect } from './athena-dialect.ts';
import { checkAthenaQuerySize } from './athena-query-size.ts';
import type { Dialect } from './dialect.ts';
import { planPointInTime, requiredJoinKeys } from './point-in-time-plan.ts';
import { renderTrainingSetSql } from './render-training-set.ts';

/** The entity-request table of a feature service: where training jobs put their entity rows. */
export function entityRequestTable(service: string): string {
  return `fstore_requests_${service}`;
}

export interface EntityRequestColumn {
  readonly name: string;
  readonly type: 'string' | 'int32' | 'int64' | 'timestamp';
}

/**
 * Columns of a service's entity-request table: `row_key` (the job's own id for the row, to join
 * labels back), the join keys of the service's views, and `event_timestamp` (UTC). The table is
 * partitioned by `request_id`, one partition per training-set request.
 */
export function entityRequestColumns(registry: Registry, service: string): EntityRequestColumn[] {
  const plan = planPointInTime(registry, { service }, { entityTimestampColumn: 'event_timestamp' });
  return [
    { name: 'row_key', type: 'string' },
    ...requiredJoinKeys(plan),
    { name: 'event_timestamp', type: 'timestamp' },
  ];
}

/**
 * The Athena SQL of a feature service's training set for one request, with one `?` parameter:
 * the request_id. Deployed as a prepared statement, so a job with only Athena runs
 * `EXECUTE fstore_<service> USING 'my-request'`. Rendered for another dialect only to test it.
 * Throws when the SQL is longer than Athena accepts, so synth fails before CloudFormation does.
 */
export function renderServiceRequestSql(
  registry: Registry,
  service: string,
  database: string,
  dialect: Dialect = athenaDialect(database),
): string {
  const q = dialect.quote;
  const plan = planPointInTime(registry, { service }, { entityTimestampColumn: 'event_timestamp' });
  const columns = entityRequestColumns(registry, service).map((c) => q(c.name));
  // A deterministic row id: the entity CTE may be evaluated once per reference.
  const entityQuery = [
    `  SELECT ${columns.join(', ')}, row_number() OVER (ORDER BY ${columns.join(', ')}) AS fstore_row_id`,
    `  FROM ${q(database)}.${q(entityRequestTable(service))}`,
    `  WHERE ${q('request_id')} = ?`,
  ].join('\n');
  const sql = renderTrainingSetSql(plan, dialect, {
    entityRelation: q('fstore_entities'),
    entityQuery,
    entityColumns: entityRequestColumns(registry, service).map((c) => c.name),
    strategy: 'merge-window',
  });
  if (dialect.name === 'athena')
    checkAthenaQuerySize(sql, `the training-set SQL of feature service "${service}"`);
  return sql;
}
