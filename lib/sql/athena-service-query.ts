import { epochMicrosOf, formatMicros } from '../epoch-micros.ts';
import { pinnedRelation, type SeqPins } from '../offline/seq-pins.ts';
import { onDemandInputsOfRequest } from '../on-demand/plan-on-demand.ts';
import type { Registry } from '../registry/index.ts';
import { athenaDialect } from './athena-dialect.ts';
import { checkAthenaQuerySize } from './athena-query-size.ts';
import { type Dialect, quoteIdentifier } from './dialect.ts';
import {
  type PointInTimePlan,
  planPointInTime,
  requiredJoinKeys,
  sourceLookbackSeconds,
} from './point-in-time-plan.ts';
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
  const plan = servicePlan(registry, service);
  return [
    { name: 'row_key', type: 'string' },
    ...requiredJoinKeys(plan),
    { name: 'event_timestamp', type: 'timestamp' },
  ];
}

/**
 * The point-in-time plan of a service's statement: its stored features, then the stored inputs
 * of its on-demand views under their hidden names (`fstore_in_<n>`), from which the training set
 * computes the on-demand features once the result is downloaded (Athena cannot run TypeScript).
 */
function servicePlan(registry: Registry, service: string): PointInTimePlan {
  const inputs = onDemandInputsOfRequest(registry, { service });
  return planPointInTime(
    registry,
    { service },
    {
      entityTimestampColumn: 'event_timestamp',
      ...(inputs.length > 0 ? { extraFeatures: inputs } : {}),
    },
  );
}

/**
 * What each `?` of a service's statement stands for: the request id, or the earliest or latest
 * `event_timestamp` of the request's rows (UTC).
 */
export type ServiceRequestParameter = 'request_id' | 'min' | 'max';

/** A service's statement and what its `?` stand for, in text order (`EXECUTE ... USING` order). */
export interface ServiceRequestStatement {
  readonly sql: string;
  readonly parameters: readonly ServiceRequestParameter[];
}

/** What the message of a refused entity row starts with (an Athena or DuckDB cast error quotes it). */
export const outsideRangeMessage = 'fstore: entity row outside the range given to EXECUTE';
/** The message of an entity row without a time: no range can hold it. */
export const nullEventTimestampMessage = 'fstore: entity row with a NULL event_timestamp';

/** Stands for a parameter while rendering; its position in the text gives the parameter order. */
const marker = (name: ServiceRequestParameter) => `⟦${name}⟧`;
const markers = /⟦(request_id|min|max)⟧/g;

/**
 * The Athena SQL of a feature service's training set for one request. Deployed as a prepared
 * statement, so a job with only Athena runs `EXECUTE fstore_<service> USING <parameters>`, each
 * `?` bound in the order of `parameters` (published as the stack output
 * `Service<Name>Parameters`): `'my-request'` for request_id, `TIMESTAMP '<min>'` and
 * `TIMESTAMP '<max>'` for the range.
 *
 * Athena accepts `?` only in WHERE clauses, so each one is there: the request table's WHERE
 * selects the request and refuses a row outside [min, max] (it would lose rows it needs) or with a
 * NULL time, failing the query with `outsideRangeMessage` or `nullEventTimestampMessage` and its
 * row_key; each source scan's WHERE bounds `dt` to the partitions its views can reach, from the
 * minimum minus the longest TTL or window of the service's views on that source (no lower bound
 * when one has no TTL) to the maximum. Athena binds the parameters before planning, so these are
 * constant predicates on the partition column. Each source scan's WHERE also keeps only rows
 * whose join keys occur in the request (`key IN (SELECT key FROM fstore_request)`, a semi-join
 * Trino can turn into a dynamic filter), so the window sorts only the request's entities.
 *
 * Rendered for another dialect only to test it. Throws when the SQL is longer than Athena
 * accepts, so synth fails before CloudFormation does.
 */
export function renderServiceRequest(
  registry: Registry,
  service: string,
  database: string,
  dialect: Dialect = athenaDialect(database),
  options: ServiceRequestRenderOptions = {},
): ServiceRequestStatement {
  const q = dialect.quote;
  const plan = servicePlan(registry, service);
  const names = entityRequestColumns(registry, service).map((c) => c.name);
  const columns = names.map(q);
  const time = q('event_timestamp');
  const rowKeyText = `COALESCE(${q('row_key')}, 'NULL')`;
  const refusal = (message: string) =>
    `CAST('${message}: row_key ' || ${rowKeyText} || ', event_timestamp ' || COALESCE(CAST(${time} AS VARCHAR), 'NULL') AS BOOLEAN)`;
  const given = [
    `${q('fstore_request')} AS (`,
    `  SELECT ${columns.join(', ')}`,
    `  FROM ${q(database)}.${q(entityRequestTable(service))}`,
    `  WHERE ${q('request_id')} = ${marker('request_id')}`,
    `    AND CASE WHEN ${time} IS NULL THEN ${refusal(nullEventTimestampMessage)}`,
    `      WHEN ${time} BETWEEN ${boundOf('min', dialect)} AND ${boundOf('max', dialect)} THEN TRUE`,
    `      ELSE ${refusal(outsideRangeMessage)} END`,
    `),`,
  ].join('\n');
  // A deterministic row id: the entity CTE may be evaluated once per reference.
  const entityQuery = [
    `  SELECT ${columns.map((c) => `e.${c}`).join(', ')}, row_number() OVER (ORDER BY ${columns.map((c) => `e.${c}`).join(', ')}) AS fstore_row_id`,
    `  FROM ${q('fstore_request')} e`,
  ].join('\n');
  const read = options.pins ? withPins(plan, dialect, options.pins, service) : dialect;
  const sql = renderTrainingSetSql(
    plan,
    options.prune === false ? read : withRequestPruning(plan, read),
    {
      entityRelation: q('fstore_entities'),
      entityQuery,
      entityColumns: names,
      strategy: 'merge-window',
    },
  );
  if (!sql.startsWith('WITH '))
    throw new Error(`the training-set SQL of service "${service}" does not start with WITH`);
  const marked = `WITH ${given}\n${sql.slice('WITH '.length)}`;
  if (marked.includes('?'))
    throw new Error(
      `the training-set SQL of service "${service}" holds a "?" that is not a parameter: binding would misplace the values`,
    );
  const parameters = [...marked.matchAll(markers)].map((m) => m[1] as ServiceRequestParameter);
  const statement = marked.replaceAll(markers, '?');
  if (dialect.name === 'athena')
    checkAthenaQuerySize(statement, `the training-set SQL of feature service "${service}"`);
  return { sql: statement, parameters };
}

export interface ServiceRequestRenderOptions {
  /**
   * false: no `dt` bounds and no key filter on the source scans (the request still binds and
   * checks its range). Only to show that pruning changes no result; default true.
   */
  readonly prune?: boolean;
  /**
   * Per source, the highest `fstore_seq` read (a snapshot's or a manifest's): every source
   * relation keeps only `fstore_seq <= n`, inside the relation, so before any winner or window is
   * computed. A statement so rendered is a one-off (the request's UNLOAD), not the stack's
   * prepared statement. Every source the service reads must be pinned.
   */
  readonly pins?: SeqPins;
}

/** `dialect` whose source relations keep only the rows the pins let through. */
function withPins(
  plan: PointInTimePlan,
  dialect: Dialect,
  pins: SeqPins,
  service: string,
): Dialect {
  for (const source of new Set(plan.views.map((v) => v.source)))
    if (!pins.has(source))
      throw new Error(
        `the training-set SQL of service "${service}" reads source "${source}", which is not pinned (pinned: ${[...pins.keys()].join(', ') || 'none'}): a pinned read of it would see every row`,
      );
  return {
    ...dialect,
    sourceRelation: (source) => pinnedRelation(dialect.sourceRelation(source), pins, source),
  };
}

/** The SQL of `renderServiceRequest`, without its parameter order. */
export function renderServiceRequestSql(
  registry: Registry,
  service: string,
  database: string,
  dialect: Dialect = athenaDialect(database),
): string {
  return renderServiceRequest(registry, service, database, dialect).sql;
}

/**
 * How many times a service statement reads its request table: Trino evaluates a WITH query once
 * per reference, so each reference of `fstore_request` (the key filters, and `fstore_entities`'
 * definition) and of `fstore_entities` (one per view, and the result's) is a read.
 */
export function requestTableReads(sql: string): number {
  const count = (text: string) => sql.split(text).length - 1;
  const requestReferences = count(`FROM ${quoteIdentifier('fstore_request')}`);
  const entityReferences = count(quoteIdentifier('fstore_entities')) - 1;
  if (requestReferences < 1 || entityReferences < 1)
    throw new Error('internal: not a service statement (no fstore_request or fstore_entities)');
  return requestReferences - 1 + entityReferences;
}

/** A range bound as a timestamp of the statement's precision. */
function boundOf(bound: 'min' | 'max', dialect: Dialect): string {
  return `CAST(${marker(bound)} AS ${dialect.sqlType('timestamp')})`;
}

/** A request's values, for binding: the id and its entity times' range (ISO, UTC). */
export interface ServiceRequestValues {
  readonly requestId: string;
  readonly min: string;
  readonly max: string;
}

/**
 * The range to bind for entity times `min`..`max`, widened to whole milliseconds (min rounded
 * down, max up): Athena reads the request table's timestamps at millisecond precision (ADR 0009),
 * so a row at `…00.000001` is read as `…00.000` and must still be inside its own range.
 */
export function millisecondRange(range: { readonly min: string; readonly max: string }): {
  min: string;
  max: string;
} {
  const floor = (micros: bigint) => micros - (((micros % 1000n) + 1000n) % 1000n);
  const min = floor(epochMicrosOf(range.min));
  const maxMicros = epochMicrosOf(range.max);
  const max = floor(maxMicros) === maxMicros ? maxMicros : floor(maxMicros) + 1000n;
  return { min: formatMicros(min), max: formatMicros(max) };
}

/**
 * The SQL literal of each parameter, in `parameters` order (what `EXECUTE ... USING` takes): the
 * request id as a string, the range as TIMESTAMP literals widened to milliseconds.
 */
export function serviceRequestLiterals(
  parameters: readonly ServiceRequestParameter[],
  values: ServiceRequestValues,
  dialect: Pick<Dialect, 'literal' | 'timestampLiteral'>,
): string[] {
  const range = millisecondRange(values);
  const literal: Record<ServiceRequestParameter, string> = {
    request_id: dialect.literal(values.requestId),
    min: dialect.timestampLiteral(range.min),
    max: dialect.timestampLiteral(range.max),
  };
  return parameters.map((name) => literal[name]);
}

/**
 * Binds a service statement's parameters as SQL literals (what `EXECUTE ... USING` does), for
 * the UNLOAD of `fstore training-set --env <aws>`. Refuses SQL whose number of `?` is not the
 * number of parameters: identifiers are `[a-z0-9_]` and fstore's literals hold no `?`.
 */
export function bindServiceRequestParameters(
  statement: ServiceRequestStatement,
  values: ServiceRequestValues,
  dialect: Pick<Dialect, 'literal' | 'timestampLiteral'>,
  what: string,
): string {
  const parts = statement.sql.split('?');
  if (parts.length !== statement.parameters.length + 1)
    throw new Error(
      `${what} has ${parts.length - 1} "?" where ${statement.parameters.length} parameters (${statement.parameters.join(', ')}) were expected`,
    );
  const literals = serviceRequestLiterals(statement.parameters, values, dialect);
  return parts.map((part, i) => (i === 0 ? part : `${literals[i - 1]}${part}`)).join('');
}

/**
 * `dialect` with each source relation restricted, in its own WHERE, to the `dt` partitions the
 * plan's views on it can reach given the bound range (`dt` is the UTC day, 'YYYY-MM-DD'), and to
 * the rows whose join keys the request holds.
 */
function withRequestPruning(plan: PointInTimePlan, dialect: Dialect): Dialect {
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
          : [`${dt} >= ${day(dialect.minusSeconds(boundOf('min', dialect), lookback))}`]),
        `${dt} <= ${day(boundOf('max', dialect))}`,
        requestKeyFilter(plan, source, dialect),
      ];
      return `(SELECT fstore_s.* FROM ${dialect.sourceRelation(source)} fstore_s WHERE ${bounds.join(' AND ')})`;
    },
  };
}

/**
 * Keeps the source rows whose join keys occur among the request's rows: one `IN` semi-join per
 * key column (Trino refuses a multi-column IN subquery; per column it keeps a superset of the
 * matching rows, never fewer), OR-ed across the distinct key sets of the views on `source`.
 * Source join keys are never NULL (ingest refuses them), so `IN` drops no row a view could match.
 * Both columns are compared bare: the request table's key columns are declared with the join
 * keys' types (entityRequestColumns, which the stack's Glue table takes), a join key has one type
 * in every entity, and a view's source column must have it too (both refused otherwise), so the
 * two sides always have the same type. Athena reads each request file through the table's
 * declared types (a file column of a compatible type is converted by the reader, another fails
 * the query), so no SQL sees another type; a cast could only hide a mismatch. The semi-join stays
 * a plain one Trino can turn into a dynamic filter on the source scan.
 */
export function requestKeyFilter(plan: PointInTimePlan, source: string, dialect: Dialect): string {
  const q = dialect.quote;
  const keySets = new Map<string, readonly string[]>();
  for (const view of plan.views) {
    if (view.source !== source) continue;
    // A view without join keys matches every row: nothing to filter on.
    if (view.joinKeys.length === 0) return 'TRUE';
    const names = view.joinKeys.map((k) => k.name);
    keySets.set(names.join(','), names);
  }
  const conjunctions = [...keySets.values()].map((keys) =>
    keys
      .map((name) => `fstore_s.${q(name)} IN (SELECT ${q(name)} FROM ${q('fstore_request')})`)
      .join(' AND '),
  );
  if (conjunctions.length === 0)
    throw new Error(`internal: no view of the plan reads source "${source}"`);
  return conjunctions.length === 1
    ? (conjunctions[0] as string)
    : `(${conjunctions.map((c) => `(${c})`).join(' OR ')})`;
}
