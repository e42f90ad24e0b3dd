import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { processEndsAfterCommand } from '../process-lifetime.ts';

/** An in-memory DuckDB connection set to UTC, closed by `close()`. */
export interface DuckdbSession {
  readonly connection: DuckDBConnection;
  /** The database behind `connection` (in memory). */
  readonly instance: DuckDBInstance;
  /**
   * Closes the connection and the instance. In a process that ends right after its command
   * (processEndsAfterCommand), the instance is left to the exit unless a query spilled to disk.
   */
  close(): void;
}

let opening: Promise<DuckDBInstance> | undefined;

/**
 * An instance a session of a process that ends after its command left open on close(): the
 * next openDuckdb() connects to it instead of starting another (one open cost ~50 ms CPU, the
 * 10-row training set's content hash paid it a second time).
 */
let leftOpen: DuckDBInstance | undefined;

/** Settings a session may change for the whole instance: a reused one starts from the defaults. */
const instanceSettings = ['threads', 'memory_limit', 'preserve_insertion_order'];

/**
 * Starts opening the instance the next openDuckdb() takes: DuckDB starts on a thread of its own
 * (100-200 ms at load) while this one goes on, e.g. compiling the definitions. Only in a process
 * that ends after its command (processEndsAfterCommand): an instance nobody takes is left to
 * the exit. A failure to open surfaces in the openDuckdb() that takes it.
 */
export function startOpeningDuckdb(): void {
  if (opening || !processEndsAfterCommand()) return;
  opening = DuckDBInstance.create(':memory:', spillOptions());
  opening.catch(() => undefined);
}

export async function openDuckdb(): Promise<DuckdbSession> {
  const started = opening;
  opening = undefined;
  const reused = started ? undefined : await connectToLeftOpen();
  const instance =
    reused?.instance ?? (await (started ?? DuckDBInstance.create(':memory:', spillOptions())));
  const connection = reused?.connection ?? (await instance.connect());
  await connection.run("SET TimeZone = 'UTC'");
  const spill = processEndsAfterCommand() ? await spillFolderOf(connection) : undefined;
  return {
    connection,
    instance,
    close() {
      connection.closeSync();
      // Closing an instance after temporary tables took 40-170 ms of a 10-row training set. An
      // in-memory instance has no file to leave half-written, so a process about to exit leaves
      // it to the exit; but only the close removes spill files (and a spill folder it created).
      if (spill && !spilled(spill)) {
        leftOpen = instance;
        return;
      }
      instance.closeSync();
    },
  };
}

/** A new connection to the instance left open, its settings reset; undefined when there is none. */
async function connectToLeftOpen(): Promise<
  { instance: DuckDBInstance; connection: DuckDBConnection } | undefined
> {
  const instance = leftOpen;
  leftOpen = undefined;
  if (!instance || !processEndsAfterCommand()) return undefined;
  let connection: DuckDBConnection | undefined;
  try {
    connection = await instance.connect();
    for (const name of instanceSettings) await connection.run(`RESET ${name}`);
    return { instance, connection };
  } catch {
    // Closed meanwhile (by its owner, or a test): a new instance then.
    connection?.closeSync();
    return undefined;
  }
}

interface SpillFolder {
  readonly dir: string;
  readonly existed: boolean;
}

async function spillFolderOf(connection: DuckDBConnection): Promise<SpillFolder> {
  const reader = await connection.runAndReadAll("SELECT current_setting('temp_directory') AS dir");
  const dir = path.resolve(String(reader.getRows()[0]?.[0] ?? '.tmp'));
  return { dir, existed: existsSync(dir) };
}

/** DuckDB's spill folder holds its files, or exists now and did not when the instance opened. */
function spilled({ dir, existed }: SpillFolder): boolean {
  if (!existsSync(dir)) return false;
  if (!existed) return true;
  try {
    return readdirSync(dir).some((name) => name.startsWith('duckdb_temp'));
  } catch {
    return true;
  }
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

export { isNoFilesError } from './no-files-error.ts';

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
