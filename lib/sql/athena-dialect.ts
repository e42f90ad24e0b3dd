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
 * The rows of `source` that committed ingests and compactions hold (ADR 0008): the source
 * table's objects whose ingest id (from `"$path"`, a hidden column `SELECT *` leaves out) has a
 * record in the records table, less the objects a compaction record `replaces` (their rows are in
 * the compaction's merged objects). Objects of an ingest or compaction stopped before its commit,
 * or not named like an ingest's, are not read.
 *
 * The records are scanned ONCE, into one row of two maps cross-joined to the rows: two subqueries
 * could list the records on either side of a compaction's commit and read both the merged and
 * the replaced objects, or neither. Maps, not arrays: a lookup is a hash probe per row, where
 * `contains` would walk every id. `"$path"` is the full `s3://<bucket>/<key>` URI and `replaces`
 * holds keys, so the scheme and bucket (or access point alias) are cut before comparing. `dt`
 * predicates applied to this relation still prune partitions: Trino pushes them through the
 * projection and the cross join into the table scan.
 */
export function committedSourceRelation(database: string, source: string): string {
  const table = (name: string) => `${quoteIdentifier(database)}.${quoteIdentifier(name)}`;
  const path = `"fstore_rows"."$path"`;
  const ingestId = `regexp_extract(${path}, ${quoteLiteral(ingestIdInObjectPath)}, 1)`;
  const objectKey = `regexp_replace(${path}, '^[a-z0-9]+://[^/]+/', '')`;
  const lists =
    `SELECT array_distinct(array_agg("ingestid") FILTER (WHERE "ingestid" IS NOT NULL)) AS "ids", ` +
    `array_distinct(flatten(array_agg("replaces") FILTER (WHERE "replaces" IS NOT NULL))) AS "gone" ` +
    `FROM ${table(ingestRecordsTable)} WHERE "source" = ${quoteLiteral(source)}`;
  const records = `SELECT map("ids", "ids") AS "readable", map("gone", "gone") AS "replaced" FROM (${lists}) AS "fstore_lists"`;
  return (
    `(SELECT "fstore_rows".* FROM ${table(source)} AS "fstore_rows" CROSS JOIN (${records}) AS "fstore_records" ` +
    `WHERE element_at("fstore_records"."readable", ${ingestId}) IS NOT NULL ` +
    `AND element_at("fstore_records"."replaced", ${objectKey}) IS NULL)`
  );
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
    notFinite: (expression) => `NOT is_finite(${expression})`,
    quantiles: (expression, ps) =>
      `approx_percentile(CAST(${expression} AS DOUBLE), ARRAY[${ps.join(', ')}])`,
    // Trino has no DISTINCT in window aggregates; the frame's values are collected instead.
    countDistinctOver: (expression, over) =>
      `cardinality(array_distinct(filter(array_agg(${expression}) OVER (${over}), x -> x IS NOT NULL)))`,
    sourceRelation: (source) => committedSourceRelation(database, source),
  };
}
