import type { Registry } from '../registry/index.ts';
import { athenaDialect } from './athena-dialect.ts';
import { checkAthenaQuerySize } from './athena-query-size.ts';
import type { Dialect } from './dialect.ts';
import { type PointInTimePlan, planPointInTime, requiredJoinKeys } from './point-in-time-plan.ts';
import { renderTrainingSetSql } from './render-training-set.ts';

/** The entity-request table of a feature service: where training jobs put their entity rows. */
export function entityRequestTable(service: string): string {
  return `fstore_requests_${service}`;
}

/** The prepared statement of a feature service, in the workgroup of its environment. */
export function servicePreparedStatement(service: string): string {
  return `fstore_${service}`;
}

/** Where a request's entity rows go: `requests/<service>/request_id=<id>/` in the offline bucket. */
export function entityRequestPrefix(service: string): string {
  return `requests/${service}/`;
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
 * The parameters of a service's statement, in `EXECUTE ... USING` order: the request id, then
 * the earliest and latest `event_timestamp` of the request's rows (UTC; TIMESTAMP literals or
 * VARCHAR 'YYYY-MM-DD HH:MM:SS[.ffffff]').
 */
export const serviceRequestParameters = [
  'request_id',
  'min_event_timestamp',
  'max_event_timestamp',
] as const;

/** What the message of a refused entity row starts with (an Athena or DuckDB cast error quotes it). */
export const outsideRangeMessage = 'fstore: entity row outside the range given to EXECUTE';

/**
 * The Athena SQL of a feature service's training set for one request, with three `?`
 * parameters (`serviceRequestParameters`). Deployed as a prepared statement, so a job with only
 * Athena runs `EXECUTE fstore_<service> USING 'my-request', TIMESTAMP '<min>', TIMESTAMP '<max>'`.
 *
 * The range bounds each source's scan to the `dt` partitions its views can reach: from the
 * minimum minus the longest TTL or window of the service's views on that source (no lower bound
 * when one has no TTL) to the maximum. The bounds are one single-row VALUES, referenced by every
 * scan: Athena substitutes the parameters before planning and Trino inlines a single-row
 * constant join into the filter, so the `dt` predicates are constants when partitions are
 * projected. An entity row outside the range would lose rows it needs, so it fails the query
 * with `outsideRangeMessage` and its row_key instead.
 *
 * Rendered for another dialect only to test it. Throws when the SQL is longer than Athena
 * accepts, so synth fails before CloudFormation does.
 */
export function renderServiceRequestSql(
  registry: Registry,
  service: string,
  database: string,
  dialect: Dialect = athenaDialect(database),
): string {
  const q = dialect.quote;
  const plan = planPointInTime(registry, { service }, { entityTimestampColumn: 'event_timestamp' });
  const names = entityRequestColumns(registry, service).map((c) => c.name);
  const columns = names.map(q);
  const timestamp = dialect.sqlType('timestamp');
  // Parameter order is text order: the request id, then the range.
  const given = [
    `${q('fstore_request')} AS (`,
    `  SELECT ${columns.join(', ')}`,
    `  FROM ${q(database)}.${q(entityRequestTable(service))}`,
    `  WHERE ${q('request_id')} = ?`,
    `),`,
    `${q('fstore_range')} AS (`,
    `  SELECT * FROM (VALUES (CAST(? AS ${timestamp}), CAST(? AS ${timestamp}))) AS fstore_given (fstore_min, fstore_max)`,
    `),`,
  ].join('\n');
  const rowKeyText = `COALESCE(e.${q('row_key')}, 'NULL')`;
  const timeText = `COALESCE(CAST(e.${q('event_timestamp')} AS VARCHAR), 'NULL')`;
  const refused = `CAST('${outsideRangeMessage}: row_key ' || ${rowKeyText} || ', event_timestamp ' || ${timeText} AS BOOLEAN)`;
  // A deterministic row id: the entity CTE may be evaluated once per reference.
  const entityQuery = [
    `  SELECT ${columns.map((c) => `e.${c}`).join(', ')}, row_number() OVER (ORDER BY ${columns.map((c) => `e.${c}`).join(', ')}) AS fstore_row_id`,
    `  FROM ${q('fstore_request')} e CROSS JOIN ${q('fstore_range')} r`,
    `  WHERE CASE WHEN e.${q('event_timestamp')} BETWEEN r.fstore_min AND r.fstore_max THEN TRUE ELSE ${refused} END`,
  ].join('\n');
  const sql = renderTrainingSetSql(plan, withRequestedRange(plan, dialect), {
    entityRelation: q('fstore_entities'),
    entityQuery,
    entityColumns: names,
    strategy: 'merge-window',
  });
  if (!sql.startsWith('WITH '))
    throw new Error(`the training-set SQL of service "${service}" does not start with WITH`);
  const statement = `WITH ${given}\n${sql.slice('WITH '.length)}`;
  if (dialect.name === 'athena')
    checkAthenaQuerySize(statement, `the training-set SQL of feature service "${service}"`);
  return statement;
}

/**
 * Binds a service statement's parameters as SQL literals (what `EXECUTE ... USING` does), for
 * the UNLOAD of `fstore training-set --env <aws>`. Refuses SQL with another number of `?`:
 * identifiers are `[a-z0-9_]` and fstore's literals hold no `?`, so each `?` is a parameter.
 */
export function bindServiceRequestParameters(
  sql: string,
  values: { readonly requestId: string; readonly min: string; readonly max: string },
  dialect: Pick<Dialect, 'literal' | 'timestampLiteral'>,
  what: string,
): string {
  const parts = sql.split('?');
  if (parts.length !== serviceRequestParameters.length + 1)
    throw new Error(
      `${what} has ${parts.length - 1} "?" where ${serviceRequestParameters.length} parameters (${serviceRequestParameters.join(', ')}) were expected`,
    );
  const literals = [
    dialect.literal(values.requestId),
    dialect.timestampLiteral(values.min),
    dialect.timestampLiteral(values.max),
  ];
  return parts.map((part, i) => (i === 0 ? part : `${literals[i - 1]}${part}`)).join('');
}

/**
 * `dialect` with each source relation restricted to the `dt` partitions the plan's views on it
 * can reach, given the range in `fstore_range`.
 */
function withRequestedRange(plan: PointInTimePlan, dialect: Dialect): Dialect {
  const q = dialect.quote;
  const day = (expression: string) => `CAST(CAST(${expression} AS DATE) AS VARCHAR)`;
  return {
    ...dialect,
    sourceRelation: (source) => {
      const lookback = sourceLookbackSeconds(plan, source);
      const dt = `fstore_s.${q('dt')}`;
      const bounds = [
        ...(lookback === undefined
          ? []
          : [`${dt} >= ${day(dialect.minusSeconds('fstore_r.fstore_min', lookback))}`]),
        `${dt} <= ${day('fstore_r.fstore_max')}`,
      ];
      return `(SELECT fstore_s.* FROM ${dialect.sourceRelation(source)} fstore_s CROSS JOIN ${q('fstore_range')} fstore_r WHERE ${bounds.join(' AND ')})`;
    },
  };
}

/**
 * How far before an entity time the views on `source` read: the longest TTL or widest window;
 * undefined (no bound) when a passthrough view has no TTL.
 */
export function sourceLookbackSeconds(plan: PointInTimePlan, source: string): number | undefined {
  let longest = 0;
  for (const view of plan.views) {
    if (view.source !== source) continue;
    const seconds = view.aggregations
      ? Math.max(...view.aggregations.map((a) => a.windowSeconds))
      : view.ttlSeconds;
    if (seconds === undefined) return undefined;
    longest = Math.max(longest, seconds);
  }
  return longest;
}
