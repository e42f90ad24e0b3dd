import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { quoteLiteral } from '../sql/dialect.ts';
import { openDuckdb } from './duckdb-session.ts';
import { CSV_COPY_OPTIONS } from './training-set.ts';

/**
 * How a training set's content hash is computed (recorded in its manifest): SHA-256 of its rows
 * as CSV, in file order, written by DuckDB with CSV_COPY_OPTIONS (header, ISO 8601 UTC
 * timestamps with microseconds). A `.csv` output is that text already; a `.parquet` output's
 * rows are read by DuckDB and written so. Parquet writer metadata (created-by, row groups,
 * compression) does not enter it.
 */
export const CONTENT_HASH_ALGORITHM = 'sha256-of-rows-as-csv-v1';

/** The output format a file's extension chooses. */
export function outputFormat(file: string): 'parquet' | 'csv' {
  return path.extname(file).toLowerCase() === '.csv' ? 'csv' : 'parquet';
}

/**
 * Runs `use` with the rows of `file` as canonical CSV (the file itself for a CSV; a temporary
 * file beside it for Parquet, removed afterwards).
 */
export async function withCanonicalCsv<T>(
  file: string,
  use: (csv: string) => Promise<T>,
): Promise<T> {
  if (outputFormat(file) === 'csv') return use(file);
  const csv = path.join(
    path.dirname(file),
    `.${path.basename(file)}.rows-${process.pid}-${Math.random().toString(16).slice(2, 8)}.csv`,
  );
  const session = await openDuckdb();
  try {
    await session.connection.run(
      `COPY (SELECT * FROM read_parquet(${quoteLiteral(file)})) TO ${quoteLiteral(csv)} (${CSV_COPY_OPTIONS})`,
    );
    return await use(csv);
  } finally {
    session.close();
    await rm(csv, { force: true });
  }
}

/** The content hash of a training set file (CONTENT_HASH_ALGORITHM), hex. */
export async function contentHashOf(file: string): Promise<string> {
  return withCanonicalCsv(file, fileSha256);
}

/** SHA-256 of a file's bytes, hex, read as a stream. */
export async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
