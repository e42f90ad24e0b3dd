import type { DuckDBConnection } from '@duckdb/node-api';
import { queryRows } from '../../lib/offline/duckdb-session.ts';
import type { Dialect } from '../../lib/sql/dialect.ts';
import type { PlannedView } from '../../lib/sql/point-in-time-plan.ts';
import {
  chooseSumScales,
  renderRunningTotalsBuild,
  renderSumScalesQuery,
} from '../../lib/sql/render-running-totals.ts';

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

/** What totalsDifference gives for equal relations with `columns` and `rows`. */
export function noDifference(columns: string[], rows: number) {
  return {
    columns: { expected: columns, actual: columns },
    rows: { expected: rows, actual: rows },
    missing: [],
    extra: [],
  };
}
