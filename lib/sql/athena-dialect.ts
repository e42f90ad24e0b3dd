import type { ValueType } from '../definitions/index.ts';
import { ingestIdInObjectPath, ingestRecordsTable } from '../offline/ingest-records.ts';
import { type Dialect, quoteIdentifier, quoteLiteral, timestampText } from './dialect.ts';

const trinoScalar: Record<string, string> = {
  int32: 'INTEGER',
  int64: 'BIGINT',
  float32: 'REAL',
  float64: 'DOUBLE',
  string: 'VARCHAR',
  bool: 'BOOLEAN',
  timestamp: 'TIMESTAMP(6)',
};

function trinoType(type: ValueType): string {
  const list = /^list<(.+)>$/.exec(type);
  if (list) return `ARRAY(${trinoType(list[1] as ValueType)})`;
  const mapped = trinoScalar[type];
  if (!mapped) throw new Error(`no Athena type for ${type}`);
  return mapped;
}

/**
 * The rows of `source` that belong to committed ingests: the source table's objects whose ingest
 * id (from `"$path"`, a hidden column `SELECT *` leaves out) has a record in the records table
 * (ADR 0008). Objects of an ingest killed before its commit, or not named like an ingest's, are
 * not read. `dt` predicates applied to this relation still prune partitions: Trino pushes them
 * through the projection into the table scan.
 */
export function committedSourceRelation(database: string, source: string): string {
  const table = (name: string) => `${quoteIdentifier(database)}.${quoteIdentifier(name)}`;
  const ingestId = `regexp_extract("$path", ${quoteLiteral(ingestIdInObjectPath)}, 1)`;
  const committed = `SELECT "ingestid" FROM ${table(ingestRecordsTable)} WHERE "source" = ${quoteLiteral(source)}`;
  return `(SELECT * FROM ${table(source)} WHERE ${ingestId} IN (${committed}))`;
}

/**
 * Athena engine v3 (Trino) SQL over the Glue tables of one environment's database: the source
 * tables and the ingest records table `fstore_ingests` of that database.
 */
export function athenaDialect(database: string): Dialect {
  return {
    name: 'athena',
    quote: quoteIdentifier,
    literal: quoteLiteral,
    sqlType: trinoType,
    // Trino names ROW fields only through a CAST to a named ROW type.
    struct: (fields) =>
      `CAST(ROW(${fields.map((f) => f.expression).join(', ')}) AS ROW(${fields.map((f) => `${quoteIdentifier(f.name)} ${trinoType(f.type)}`).join(', ')}))`,
    field: (struct, name) => `${struct}.${quoteIdentifier(name)}`,
    lastValueIgnoringNulls: (expression, over) =>
      `last_value(${expression}) IGNORE NULLS OVER (${over})`,
    minusSeconds: (expression, seconds) =>
      `(${expression} - INTERVAL '${Math.trunc(seconds)}' SECOND)`,
    timestampLiteral: (iso) => `TIMESTAMP '${timestampText(iso)}'`,
    epochMicros: (expression) => `CAST(round(to_unixtime(${expression}) * 1e6) AS BIGINT)`,
    quantiles: (expression, ps) =>
      `approx_percentile(CAST(${expression} AS DOUBLE), ARRAY[${ps.join(', ')}])`,
    // Trino has no DISTINCT in window aggregates; the frame's values are collected instead.
    countDistinctOver: (expression, over) =>
      `cardinality(array_distinct(filter(array_agg(${expression}) OVER (${over}), x -> x IS NOT NULL)))`,
    sourceRelation: (source) => committedSourceRelation(database, source),
  };
}
