import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';

/** An in-memory DuckDB connection set to UTC, closed by `close()`. */
export interface DuckdbSession {
  readonly connection: DuckDBConnection;
  close(): void;
}

export async function openDuckdb(): Promise<DuckdbSession> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  await connection.run("SET TimeZone = 'UTC'");
  return {
    connection,
    close() {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

const bigIntegerTypes = new Set(['BIGINT', 'UBIGINT', 'HUGEINT', 'UHUGEINT']);

/**
 * Rows of a query as plain objects with JSON-friendly values: timestamps as text, 64-bit
 * integers as numbers when they fit exactly (as text otherwise).
 */
export async function queryRows(
  connection: DuckDBConnection,
  sql: string,
): Promise<Record<string, unknown>[]> {
  const reader = await connection.runAndReadAll(sql);
  const names = reader.columnNames();
  const big = new Set(
    reader
      .columnTypes()
      .flatMap((type, index) => (bigIntegerTypes.has(type.toString()) ? [names[index]] : [])),
  );
  const rows = reader.getRowObjectsJson() as Record<string, unknown>[];
  if (big.size === 0) return rows;
  for (const row of rows) {
    for (const name of big) {
      const value = name === undefined ? undefined : row[name];
      if (typeof value === 'string' && Number.isSafeInteger(Number(value)))
        row[name as string] = Number(value);
    }
  }
  return rows;
}
