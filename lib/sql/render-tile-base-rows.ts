import type { ValueType } from '../definitions/value-types.ts';
import { listElementType } from '../definitions/value-types.ts';
import { formatMicros } from '../epoch-micros.ts';
import { subtractSeqRanges } from '../seq-ranges.ts';
import type { Dialect } from './dialect.ts';
import type { PlannedView } from './point-in-time-plan.ts';
import { seqBucketSql } from './seq-buckets.ts';
import { viewSourceRelation } from './view-source.ts';

/** Which offline rows a tile base is computed from (ADR 0020, "Scheduled materialization"). */
export interface TileBaseRowsQuery {
  /**
   * The entities: join key values, one array per entity in the view's join key order, or a
   * query whose rows carry the join key columns (e.g. a materialization run's rows), each entity
   * read once however often the query names it.
   */
  readonly entities: readonly (readonly (string | number | bigint)[])[] | { readonly sql: string };
  /** Rows with an event time after this (epoch microseconds): older ones no window reaches. */
  readonly afterMicros: bigint;
  /** The offline sequence the base is computed at: rows with `fstore_seq <= maxSeq`. */
  readonly maxSeq: bigint;
  /**
   * Inclusive `fstore_seq` ranges of the commit records the base is computed from: rows of an
   * ingest committed after they were read are left out even when their sequence is lower (S3
   * numbers rows by each writer's clock), so the sequence, the push exclusions and the rows
   * are of one set of ingests. Absent: every committed row up to `maxSeq`.
   */
  readonly includedSeqRanges?: readonly (readonly [bigint, bigint])[];
  /**
   * Inclusive `fstore_seq` ranges left out: the ingests of pushed rows (pushes keep their own).
   * With `includedSeqRanges`, only what the included ranges hold less these is named (see
   * seqCondition), so the query text follows the counted ranges, not the records.
   */
  readonly excludedSeqRanges: readonly (readonly [bigint, bigint])[];
  /**
   * A relation of `fstore_bucket, fstore_first, fstore_last` rows holding the included ranges
   * less the excluded ones (seqBucketRows), joined instead of naming them in the text:
   * the query's length then does not follow the number of ranges.
   */
  readonly countedRangesRelation?: string;
  /** The aggregated columns and their source types. */
  readonly columns: Readonly<Record<string, ValueType>>;
  /**
   * With entities given as a query: also one row for each entity without a base row, its
   * `fstore_seq` and every other column NULL, so a reader that has no other list of the
   * entities (a sharded run's shard, whose rows came in no key order) still clears their bases.
   */
  readonly everyEntity?: boolean;
}

/**
 * The raw offline rows of some entities for their tiles' base: join keys, event time and
 * created time as epoch microseconds (`fstore_t`, `fstore_created`), `fstore_seq`, and each
 * aggregated column in the form tiles keep (timestamps as epoch microseconds, lists as TRUE
 * when present, float32 widened to the double the training set sums), ordered by key and
 * `fstore_seq`.
 */
export function renderTileBaseRows(
  view: PlannedView,
  dialect: Dialect,
  query: TileBaseRowsQuery,
): string {
  const { entities } = query;
  if ('length' in entities && entities.length === 0)
    throw new Error('internal: a tile base query needs entities');
  const q = dialect.quote;
  const keyLiteral = (index: number, value: string | number | bigint) => {
    const key = view.joinKeys[index];
    if (!key) throw new Error(`internal: entity has more values than ${view.view} has join keys`);
    if (key.type === 'string') return dialect.literal(String(value));
    const text = String(value);
    if (!/^-?\d+$/.test(text)) throw new Error(`join key ${key.name} is not an integer: ${text}`);
    return text;
  };
  const keyNames = view.joinKeys.map((k) => q(k.name));
  if (query.includedSeqRanges?.length === 0)
    throw new Error('internal: a tile base query needs committed rows');
  const columns = Object.entries(query.columns).map(
    ([column, type]) => `${columnValue(q(column), type, dialect)} AS ${q(column)}`,
  );
  const created = view.createdColumn
    ? `${dialect.epochMicros(q(view.createdColumn))}`
    : 'CAST(NULL AS BIGINT)';
  const filters = [
    `WHERE ${q(view.timestampColumn)} > ${dialect.timestampLiteral(formatMicros(query.afterMicros))}`,
    `  AND fstore_seq <= ${query.maxSeq}`,
    ...(query.countedRangesRelation === undefined ? seqCondition(query) : []),
  ];
  const rangesJoin = (rows: string) =>
    query.countedRangesRelation === undefined
      ? []
      : [
          `JOIN ${query.countedRangesRelation} fstore_ranges`,
          `  ON fstore_ranges.fstore_bucket = ${seqBucketSql(`${rows}.fstore_seq`)}`,
          `  AND ${rows}.fstore_seq BETWEEN fstore_ranges.fstore_first AND fstore_ranges.fstore_last`,
        ];
  const selected = [
    `  ${dialect.epochMicros(q(view.timestampColumn))} AS fstore_t, ${created} AS fstore_created, fstore_seq${columns.length > 0 ? ',' : ''}`,
    ...(columns.length > 0 ? [`  ${columns.join(', ')}`] : []),
  ];
  if (query.everyEntity && 'sql' in entities) {
    const outputs = [
      'fstore_t',
      'fstore_created',
      'fstore_seq',
      ...Object.keys(query.columns).map(q),
    ];
    // The entities on the right (Trino's build side by default; its dynamic filtering, which
    // covers right joins, may then prune the source scan by their keys), outer so an entity
    // without rows keeps one row of NULLs.
    return [
      `SELECT ${keyNames.map((k) => `fstore_entities.${k} AS ${k}`).join(', ')},`,
      `  ${outputs.map((column) => `fstore_base.${column}`).join(', ')}`,
      `FROM (SELECT ${keyNames.join(', ')},`,
      ...selected,
      `FROM ${viewSourceRelation(view, dialect)} fstore_source`,
      ...rangesJoin('fstore_source'),
      ...filters,
      ') fstore_base',
      `RIGHT JOIN (SELECT DISTINCT ${keyNames.join(', ')} FROM (${entities.sql}) fstore_run) fstore_entities`,
      `  ON ${keyNames.map((k) => `fstore_base.${k} = fstore_entities.${k}`).join(' AND ')}`,
      `ORDER BY ${keyNames.map((k) => `fstore_entities.${k}`).join(', ')}, fstore_base.fstore_seq`,
    ].join('\n');
  }
  // Joined rather than `IN`: Trino and DuckDB both take a join on several keys.
  const relation =
    'sql' in entities
      ? [
          `(SELECT fstore_source.* FROM ${viewSourceRelation(view, dialect)} fstore_source`,
          `  JOIN (SELECT DISTINCT ${keyNames.join(', ')} FROM (${entities.sql}) fstore_run) fstore_entities`,
          `  ON ${keyNames.map((k) => `fstore_source.${k} = fstore_entities.${k}`).join(' AND ')})`,
        ].join('\n')
      : viewSourceRelation(view, dialect);
  const entityFilter =
    'sql' in entities
      ? []
      : [
          `  AND (${entities
            .map(
              (values) =>
                `(${values.map((v, i) => `${keyNames[i] ?? ''} = ${keyLiteral(i, v)}`).join(' AND ')})`,
            )
            .join('\n    OR ')})`,
        ];
  return [
    `SELECT ${keyNames.join(', ')},`,
    ...selected,
    `FROM ${relation} fstore_base`,
    ...rangesJoin('fstore_base'),
    ...filters,
    ...entityFilter,
    `ORDER BY ${keyNames.join(', ')}, fstore_seq`,
  ].join('\n');
}

/**
 * The `fstore_seq` condition: with ranges read, the rows they hold less those left out, named
 * as positive ranges only. A range never reaches past a read range, so a row of an ingest
 * committed after the records were read (on S3 numbered by its writer's clock, possibly
 * between two ranges read) is never counted; and the tiled ranges, which make most records of
 * a pushed-to source, drop out of the text: one range per run of counted rows.
 */
function seqCondition(query: TileBaseRowsQuery): string[] {
  const seqIn = ([first, last]: readonly [bigint, bigint]) =>
    first === last ? `fstore_seq = ${first}` : `fstore_seq BETWEEN ${first} AND ${last}`;
  if (query.includedSeqRanges) {
    const counted = subtractSeqRanges(query.includedSeqRanges, query.excludedSeqRanges);
    return [`  AND (${counted.length > 0 ? counted.map(seqIn).join(' OR ') : 'FALSE'})`];
  }
  const excluded = query.excludedSeqRanges.map(seqIn);
  return excluded.length > 0 ? [`  AND NOT (${excluded.join(' OR ')})`] : [];
}

function columnValue(column: string, type: ValueType, dialect: Dialect): string {
  if (listElementType(type)) return `CASE WHEN ${column} IS NULL THEN NULL ELSE TRUE END`;
  if (type === 'timestamp') return dialect.epochMicros(column);
  if (type === 'float32') return `CAST(${column} AS ${dialect.sqlType('float64')})`;
  return column;
}
