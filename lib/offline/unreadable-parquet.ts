import type { DuckDBConnection } from '@duckdb/node-api';
import { quoteLiteral } from '../sql/dialect.ts';

/**
 * DuckDB's (1.5) messages for a file it cannot read as Parquet, each naming the file: measured
 * on an empty file, one cut short, random bytes, a footer length past the end and a damaged
 * body (test/integration/staged-object-unreadable.test.ts). Not any "Invalid Input Error":
 * DuckDB also says that of a value a readable file holds (a cast, a parse), which is no reason
 * to set the object aside.
 */
const unreadable = [
  /File '([^']+)' too small to be a Parquet file/,
  /No magic bytes found at end of file '([^']+)'/,
  /Footer length error in file '([^']+)'/,
  /Could not read enough bytes from file "([^"]+)"/,
];

/** The file of `files` that DuckDB's error `message` says is not readable Parquet, if any. */
export function unreadableParquetFile(
  message: string,
  files: readonly string[],
): string | undefined {
  for (const pattern of unreadable) {
    const named = pattern.exec(message)?.[1];
    if (named !== undefined && files.includes(named)) return named;
  }
  return undefined;
}

/**
 * DuckDB's (1.5) messages for Parquet metadata it cannot decode (Thrift: a damaged footer or
 * page header; measured on a zeroed footer, an overwritten start of footer, a shortened footer
 * length and overwritten page headers). They name no file, so the file is found by
 * `firstUnreadableParquetFile`.
 */
const undecodable = /^Invalid Error: (TProtocolException|don't know what type)/;

/** Whether DuckDB's error `message` says some file is damaged Parquet, without naming it. */
export function isUnnamedParquetDamage(message: string): boolean {
  return undecodable.test(message);
}

/**
 * The first of `files` DuckDB cannot read alone (every column, as a batch reads it), for an
 * error that named no file: only after a batch failed so, never on the way of a good batch.
 */
export async function firstUnreadableParquetFile(
  connection: DuckDBConnection,
  files: readonly string[],
): Promise<string | undefined> {
  try {
    for (const file of files) {
      try {
        await connection.run(
          `CREATE OR REPLACE TEMP TABLE fstore_read_alone AS SELECT * FROM read_parquet(${quoteLiteral(file)})`,
        );
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (isUnnamedParquetDamage(message) || unreadableParquetFile(message, [file]) === file)
          return file;
      }
    }
    return undefined;
  } finally {
    await connection.run('DROP TABLE IF EXISTS fstore_read_alone');
  }
}
