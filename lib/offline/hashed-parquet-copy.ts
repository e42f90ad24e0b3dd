import { randomBytes } from 'node:crypto';
import type { DuckDBConnection } from '@duckdb/node-api';
import { quoteIdentifier, quoteLiteral } from '../sql/dialect.ts';
import { type DuckdbSession, queryRows } from './duckdb-session.ts';
import { interruptOnAbort } from './interrupt-on-abort.ts';
import { typedColumnsHash } from './typed-columns-hash.ts';

/**
 * Writes the rows of `query` to Parquet `file` (zstd) and returns their v2 content hash
 * (typed-columns-hash.ts), computed while the file is written instead of by reading it back:
 * the rows go into a table first, then DuckDB's threads write the file from it while a second
 * connection streams the same table into the hash. Equal to contentHashOf(file) when the file
 * reads back with the table's column types (it does for every type fstore writes); when a type
 * does not (e.g. HUGEINT, stored as DOUBLE), the file is hashed as it reads back.
 */
export async function copyToParquetHashed(
  session: DuckdbSession,
  query: string,
  file: string,
  signal?: AbortSignal,
): Promise<string> {
  return (await copyFlaggedToParquetHashed(session, query, file, [], signal)).hash;
}

export interface FlaggedCopy {
  readonly hash: string;
  readonly rows: number;
  /** Per flag column, the rows it is true in. */
  readonly trueCounts: readonly number[];
}

/**
 * copyToParquetHashed for a query with boolean `flags` columns, which are counted (rows true)
 * and not written: the rows are in a table already, so counting them there is one small scan,
 * where a counting function in the query costs a call into JavaScript per chunk (about 0.15 s
 * of bench:pit's three-view join).
 */
export async function copyFlaggedToParquetHashed(
  session: DuckdbSession,
  query: string,
  file: string,
  flags: readonly string[],
  signal?: AbortSignal,
): Promise<FlaggedCopy> {
  const { connection } = session;
  const table = `fstore_result_${randomBytes(6).toString('hex')}`;
  const parquet = `read_parquet(${quoteLiteral(file)})`;
  const written =
    flags.length === 0
      ? table
      : `(SELECT * EXCLUDE (${flags.map(quoteIdentifier).join(', ')}) FROM ${table})`;
  await connection.run(`CREATE TABLE ${table} AS ${query}`);
  try {
    const [counted] = await queryRows(
      connection,
      `SELECT count(*) AS fstore_rows${flags.map((f, i) => `, count_if(${quoteIdentifier(f)}) AS fstore_true_${i}`).join('')} FROM ${table}`,
    );
    const rows = Number(counted?.fstore_rows ?? 0);
    const trueCounts = flags.map((_, i) => Number(counted?.[`fstore_true_${i}`] ?? 0));
    const hashing = await session.instance.connect();
    const stopInterrupting = interruptOnAbort(hashing, signal);
    try {
      const [copied, hashed] = await Promise.allSettled([
        connection.run(
          `COPY ${written} TO ${quoteLiteral(file)} (FORMAT parquet, COMPRESSION zstd)`,
        ),
        typedColumnsHash(hashing, written),
      ]);
      if (copied.status === 'rejected') throw copied.reason;
      if (hashed.status === 'rejected') throw hashed.reason;
      const same = (await columnTypes(hashing, written)) === (await columnTypes(hashing, parquet));
      const hash = same ? hashed.value : await typedColumnsHash(hashing, parquet);
      return { hash, rows, trueCounts };
    } finally {
      stopInterrupting();
      hashing.closeSync();
    }
  } finally {
    // Left behind only when the stop interrupted this too: a random name in a session about to end.
    await connection.run(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
  }
}

/** The names and types of a relation's columns, as one comparable text. */
async function columnTypes(connection: DuckDBConnection, relation: string): Promise<string> {
  const probe = await connection.stream(`SELECT * FROM ${relation} LIMIT 0`);
  const types = probe.columnTypes();
  return JSON.stringify(probe.columnNames().map((name, i) => [name, String(types[i])]));
}
