/**
 * DuckDB's error for a source folder with no Parquet files yet (nothing ingested). Apart from
 * duckdb-session.ts so code bundled into a Lambda without DuckDB (the materializer's tile base
 * writer) can test for it without importing the native module.
 */
export function isNoFilesError(error: unknown): boolean {
  return String((error as Error | undefined)?.message).includes('No files found');
}
