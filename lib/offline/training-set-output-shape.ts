import { quoteLiteral } from '../sql/dialect.ts';
import { outputFormat } from './canonical-rows.ts';
import { openDuckdb, queryRows } from './duckdb-session.ts';

/** The row count and column names of a written training set (.parquet or .csv), read by DuckDB. */
export async function trainingSetOutputShape(
  file: string,
): Promise<{ rows: number; columns: string[] }> {
  const relation =
    outputFormat(file) === 'csv'
      ? `read_csv(${quoteLiteral(file)}, header = true)`
      : `read_parquet(${quoteLiteral(file)})`;
  const session = await openDuckdb();
  try {
    const described = await queryRows(session.connection, `DESCRIBE SELECT * FROM ${relation}`);
    const [counted] = await queryRows(session.connection, `SELECT count(*) AS n FROM ${relation}`);
    return {
      rows: Number(counted?.n ?? 0),
      columns: described.map((c) => String(c.column_name)),
    };
  } finally {
    session.close();
  }
}
