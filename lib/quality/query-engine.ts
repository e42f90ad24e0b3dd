import type { DuckDBConnection } from '@duckdb/node-api';
import type { AthenaQueryRunner } from '../offline/athena-query-runner.ts';
import { isNoFilesError, queryRows } from '../offline/duckdb-session.ts';

/** Runs one SQL query in the offline engine and returns its (small) result as typed rows. */
export type QueryRows = (sql: string) => Promise<Record<string, unknown>[]>;

/** DuckDB over the local offline store; a source without files has no rows. */
export function duckdbQueryRows(connection: DuckDBConnection): QueryRows {
  return async (sql) => {
    try {
      return await queryRows(connection, sql);
    } catch (error) {
      if (isNoFilesError(error)) return [];
      throw error;
    }
  };
}

/** Athena over the Glue tables; results are aggregates, so they are read whole. */
export function athenaQueryRows(runner: AthenaQueryRunner): QueryRows {
  return async (sql) => {
    const { queryExecutionId } = await runner.run(sql);
    const rows: Record<string, unknown>[] = [];
    for await (const row of runner.typedRows(queryExecutionId)) rows.push(row);
    return rows;
  };
}
