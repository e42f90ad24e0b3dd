import type { DuckDBConnection } from '@duckdb/node-api';
import { bigIntegerColumns, isNoFilesError, withSafeIntegers } from '../offline/duckdb-session.ts';
import type { Dialect } from '../sql/dialect.ts';
import { type LatestRowsQuery, type RowSource, renderMaterializationRows } from './row-source.ts';

/** DuckDB over the local offline store's Parquet files, streamed chunk by chunk. */
export function duckdbRowSource(connection: DuckDBConnection, dialect: Dialect): RowSource {
  return {
    async *latestRows(query: LatestRowsQuery) {
      const result = await streamOrEmpty(
        connection,
        renderMaterializationRows(query, dialect, { orderByKey: true }),
      );
      if (!result) return;
      const big = bigIntegerColumns(result.columnNames(), result.columnTypes());
      for await (const rows of result.yieldRowObjectJson()) {
        withSafeIntegers(rows as Record<string, unknown>[], big);
        yield rows as Record<string, unknown>[];
      }
    },
    async countLatest(query: LatestRowsQuery) {
      const sql = renderMaterializationRows(query, dialect);
      const result = await streamOrEmpty(connection, `SELECT count(*) AS n FROM (${sql}) fstore_n`);
      if (!result) return 0;
      const rows = await result.getRowObjectsJson();
      return Number(rows[0]?.n ?? 0);
    },
  };
}

/** A view whose source has no files yet has no rows (DuckDB says "No files found"). */
async function streamOrEmpty(connection: DuckDBConnection, sql: string) {
  try {
    return await connection.stream(sql);
  } catch (error) {
    if (isNoFilesError(error)) return undefined;
    throw error;
  }
}
