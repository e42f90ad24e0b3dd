import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { quoteLiteral } from '../sql/dialect.ts';
import { openDuckdb } from './duckdb-session.ts';
import { CSV_COPY_OPTIONS } from './training-set.ts';
import { TYPED_COLUMNS_HASH, typedColumnsHash } from './typed-columns-hash.ts';

/**
 * Content hash v1: SHA-256 of a training set's rows as CSV, in file order, written by DuckDB
 * with CSV_COPY_OPTIONS (header, ISO 8601 UTC timestamps with microseconds). A `.csv` output is
 * that text already; a `.parquet` output's rows are read by DuckDB and written so (formatting
 * the values is most of its cost). Parquet writer metadata (created-by, row groups,
 * compression) does not enter it.
 */
export const CSV_ROWS_HASH = 'sha256-of-rows-as-csv-v1';

/** The algorithms a manifest may name; both are verified, new manifests take contentHashAlgorithmFor. */
export const CONTENT_HASH_ALGORITHMS = [CSV_ROWS_HASH, TYPED_COLUMNS_HASH] as const;
export type ContentHashAlgorithm = (typeof CONTENT_HASH_ALGORITHMS)[number];

/**
 * The content hash a new manifest records for `file`: v2 (typed-columns-hash.ts, the values
 * without formatting them) for Parquet; v1 for CSV, whose v1 hash is the file's own SHA-256 (a
 * CSV has no column types for v2 to read).
 */
export function contentHashAlgorithmFor(file: string): ContentHashAlgorithm {
  return outputFormat(file) === 'csv' ? CSV_ROWS_HASH : TYPED_COLUMNS_HASH;
}

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

/** The content hash of a training set file by `algorithm` (default: the one a new manifest records), hex. */
export async function contentHashOf(
  file: string,
  algorithm: ContentHashAlgorithm = contentHashAlgorithmFor(file),
): Promise<string> {
  if (algorithm === CSV_ROWS_HASH) return withCanonicalCsv(file, fileSha256);
  if (outputFormat(file) === 'csv')
    throw new Error(
      `${TYPED_COLUMNS_HASH} reads the column types of a Parquet file; ${file} is CSV (its content hash is ${CSV_ROWS_HASH})`,
    );
  const session = await openDuckdb();
  try {
    return await typedColumnsHash(session.connection, `read_parquet(${quoteLiteral(file)})`);
  } finally {
    session.close();
  }
}

/**
 * The content hash of a training set just built into `file`: the v2 hash its build computed
 * while writing it (TrainingSetResult.contentHash) when that is the algorithm asked for, else
 * read from the file.
 */
export async function contentHashOfBuilt(
  file: string,
  algorithm: ContentHashAlgorithm,
  builtHash: string | undefined,
): Promise<string> {
  return algorithm === TYPED_COLUMNS_HASH && builtHash ? builtHash : contentHashOf(file, algorithm);
}

/** SHA-256 of a file's bytes, hex, read as a stream. */
export async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
