import { tmpdir } from 'node:os';
import path from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';

/** An in-memory DuckDB connection set to UTC, closed by `close()`. */
export interface DuckdbSession {
  readonly connection: DuckDBConnection;
  close(): void;
}

export async function openDuckdb(): Promise<DuckdbSession> {
  const instance = await DuckDBInstance.create(':memory:', spillOptions());
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

/**
 * Where DuckDB spills when a query outgrows memory. Its default is `.tmp` in the working
 * directory, read-only in a Lambda function (/var/task), so there it spills under /tmp;
 * `FSTORE_DUCKDB_TEMP_DIRECTORY` chooses the folder anywhere.
 */
export function spillOptions(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const chosen =
    env.FSTORE_DUCKDB_TEMP_DIRECTORY ||
    (env.AWS_LAMBDA_FUNCTION_NAME ? path.join(tmpdir(), 'fstore-duckdb-spill') : undefined);
  return chosen ? { temp_directory: chosen } : {};
}

/** DuckDB's error for a source folder with no Parquet files yet (nothing ingested). */
export function isNoFilesError(error: unknown): boolean {
  return String((error as Error | undefined)?.message).includes('No files found');
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
  return withSafeIntegers(
    reader.getRowObjectsJson() as Record<string, unknown>[],
    bigIntegerColumns(reader.columnNames(), reader.columnTypes()),
  );
}

/** The columns DuckDB's JSON rows give as text because they are 64-bit (or wider) integers. */
export function bigIntegerColumns(
  names: readonly string[],
  types: readonly { toString(): string }[],
): string[] {
  return names.filter((_, index) => bigIntegerTypes.has(String(types[index])));
}

/** Turns those columns back into numbers where they fit exactly; in place. */
export function withSafeIntegers(
  rows: Record<string, unknown>[],
  columns: readonly string[],
): Record<string, unknown>[] {
  if (columns.length === 0) return rows;
  for (const row of rows)
    for (const name of columns) {
      const value = row[name];
      if (typeof value === 'string' && Number.isSafeInteger(Number(value)))
        row[name] = Number(value);
    }
  return rows;
}
