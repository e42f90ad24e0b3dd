import type { DuckDBConnection } from '@duckdb/node-api';
import { queryRows } from '../../lib/offline/duckdb-session.ts';
import type { Dialect } from '../../lib/sql/dialect.ts';
import type { PlannedView } from '../../lib/sql/point-in-time-plan.ts';
import {
  chooseSumScales,
  renderRunningTotalsBuild,
  renderSumScalesQuery,
} from '../../lib/sql/render-running-totals.ts';
import { keyIdColumn } from '../../lib/sql/render-running-totals-key-ids.ts';

/**
 * A full running-totals build of `view` over `dialect`'s source rows written to `file` as
 * ensureRunningTotals writes one (zstd Parquet): how to read it, and its sum scales.
 */
export async function fullBuild(
  connection: DuckDBConnection,
  dialect: Dialect,
  view: PlannedView,
  file: string,
): Promise<{ relation: string; sumScales: Map<string, number> }> {
  const scalesQuery = renderSumScalesQuery(view, dialect);
  const sumScales = scalesQuery
    ? chooseSumScales(view, (await queryRows(connection, scalesQuery))[0] ?? {})
    : new Map<string, number>();
  await connection.run(
    `COPY (${renderRunningTotalsBuild(view, dialect, sumScales)}) TO ${dialect.literal(file)} (FORMAT parquet, COMPRESSION zstd)`,
  );
  return { relation: `read_parquet(${dialect.literal(file)})`, sumScales };
}

/**
 * How two totals relations differ: column names and types, row counts, and up to five rows of
 * each that the other lacks. Every value is compared as text, which tells every double apart
 * (DuckDB prints the shortest text that reads back to the same bits, -0.0 included).
 */
export async function totalsDifference(
  connection: DuckDBConnection,
  expected: string,
  actual: string,
): Promise<{
  columns: { expected: string[]; actual: string[] };
  rows: { expected: number; actual: number };
  missing: Record<string, unknown>[];
  extra: Record<string, unknown>[];
}> {
  const columns = async (relation: string) =>
    (await queryRows(connection, `DESCRIBE SELECT * FROM ${relation}`)).map(
      (r) => `${r.column_name} ${r.column_type}`,
    );
  const count = async (relation: string) =>
    Number((await queryRows(connection, `SELECT count(*) AS n FROM ${relation}`))[0]?.n);
  const asText = (relation: string) => `SELECT CAST(COLUMNS(*) AS VARCHAR) FROM ${relation}`;
  const except = (a: string, b: string) =>
    queryRows(connection, `(${asText(a)}) EXCEPT ALL (${asText(b)}) LIMIT 5`);
  return {
    columns: { expected: await columns(expected), actual: await columns(actual) },
    rows: { expected: await count(expected), actual: await count(actual) },
    missing: await except(expected, actual),
    extra: await except(actual, expected),
  };
}

/**
 * Stored totals rows without their key ids, to compare with a full build's rows (fullBuild
 * writes none): an increment numbers keys new since its base after the base's ids, where a
 * full build numbers every key in key order, so two builds agree through the keys only.
 */
export function withoutKeyIds(relation: string): string {
  return `(SELECT * EXCLUDE (${keyIdColumn}) FROM ${relation})`;
}

/**
 * What is wrong with stored totals' key ids, as sentences (none when right): the dictionary
 * has one row a key and one key an id, ids are 1..n, and every totals row carries its key's id
 * while every dictionary key has totals rows.
 */
export async function keyIdProblems(
  connection: DuckDBConnection,
  totals: { readonly relation: string; readonly keyIds: string },
  keys: readonly string[],
): Promise<string[]> {
  const list = keys.map((k) => `"${k}"`).join(', ');
  const sameKey = keys.map((k) => `r."${k}" IS NOT DISTINCT FROM d."${k}"`).join(' AND ');
  const checks: Record<string, string> = {
    'keys with more than one id': `SELECT ${list} FROM ${totals.keyIds} GROUP BY ALL HAVING count(*) > 1`,
    'ids of more than one key': `SELECT ${keyIdColumn} FROM ${totals.keyIds} GROUP BY ALL HAVING count(*) > 1`,
    'ids outside 1..n': `SELECT ${keyIdColumn} FROM ${totals.keyIds} WHERE ${keyIdColumn} NOT BETWEEN 1 AND (SELECT count(*) FROM ${totals.keyIds}) OR ${keyIdColumn} IS NULL`,
    'totals rows without their key id': `SELECT 1 FROM ${totals.relation} r ANTI JOIN ${totals.keyIds} d ON ${sameKey} AND r.${keyIdColumn} = d.${keyIdColumn}`,
    'dictionary keys without totals rows': `SELECT 1 FROM ${totals.keyIds} d ANTI JOIN ${totals.relation} r ON ${sameKey}`,
  };
  const problems: string[] = [];
  for (const [problem, sql] of Object.entries(checks)) {
    const [row] = await queryRows(connection, `SELECT count(*) AS n FROM (${sql})`);
    if (Number(row?.n) > 0) problems.push(`${problem}: ${String(row?.n)}`);
  }
  return problems;
}

/** What totalsDifference gives for equal relations with `columns` and `rows`. */
export function noDifference(columns: string[], rows: number) {
  return {
    columns: { expected: columns, actual: columns },
    rows: { expected: rows, actual: rows },
    missing: [],
    extra: [],
  };
}
