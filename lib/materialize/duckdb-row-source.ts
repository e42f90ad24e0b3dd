import type { DuckDBConnection } from '@duckdb/node-api';
import type { Dialect } from '../sql/dialect.ts';
import { renderAggregatesAt } from '../sql/render-aggregation.ts';
import { renderLatestPerEntity } from '../sql/render-latest.ts';
import type { LatestRowsQuery, RowSource } from './row-source.ts';

const bigIntegerTypes = new Set(['BIGINT', 'UBIGINT', 'HUGEINT', 'UHUGEINT']);

/** DuckDB over the local offline store's Parquet files, streamed chunk by chunk. */
export function duckdbRowSource(connection: DuckDBConnection, dialect: Dialect): RowSource {
  return {
    async *latestRows(query: LatestRowsQuery) {
      const resume = query.afterKey ? { afterKey: query.afterKey } : {};
      const sql = query.view.aggregations
        ? renderAggregatesAt(query.view, dialect, query.window, { orderByKey: true, ...resume })
        : renderLatestPerEntity(query.view, dialect, query.window, { orderByKey: true, ...resume });
      const result = await streamOrEmpty(connection, sql);
      if (!result) return;
      const names = result.columnNames();
      const big = result
        .columnTypes()
        .flatMap((type, index) => (bigIntegerTypes.has(type.toString()) ? [names[index]] : []))
        .filter((name): name is string => name !== undefined);
      for await (const rows of result.yieldRowObjectJson()) {
        if (big.length > 0)
          for (const row of rows as Record<string, unknown>[])
            for (const name of big) {
              const value = row[name];
              if (typeof value === 'string' && Number.isSafeInteger(Number(value)))
                row[name] = Number(value);
            }
        yield rows as Record<string, unknown>[];
      }
    },
    async countLatest(query: LatestRowsQuery) {
      const resume = query.afterKey ? { afterKey: query.afterKey } : {};
      const sql = query.view.aggregations
        ? renderAggregatesAt(query.view, dialect, query.window, resume)
        : renderLatestPerEntity(query.view, dialect, query.window, resume);
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
    if (String((error as Error).message).includes('No files found')) return undefined;
    throw error;
  }
}
