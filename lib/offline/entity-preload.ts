import path from 'node:path';
import { processEndsAfterCommand } from '../process-lifetime.ts';
import { type DuckdbSession, openDuckdb } from './duckdb-session.ts';
import { readRawEntities } from './load-entities.ts';

/** A Parquet entity file being read into a DuckDB session of its own, ahead of its training set. */
export interface EntityPreload {
  readonly file: string;
  readonly session: Promise<DuckdbSession>;
  readonly rawTypes: Promise<ReadonlyMap<string, string>>;
}

/**
 * Starts reading a Parquet entity file's rows on DuckDB's threads while this thread goes on
 * (compiling the definitions, ~0.15 s that the read of a million rows overlaps); the training set
 * takes the session and the rows (getTrainingSet's `entityPreload`). Its failures surface there,
 * as loading the file would raise them. Only Parquet: how a CSV's columns are read depends on the
 * request (join keys as text), and only in a process that ends after its command (a session
 * nobody takes is left to the exit).
 */
export function startEntityPreload(file: string): EntityPreload | undefined {
  if (path.extname(file).toLowerCase() !== '.parquet' || !processEndsAfterCommand())
    return undefined;
  const session = openDuckdb();
  const rawTypes = session.then((s) => readRawEntities(s.connection, file, []));
  session.catch(() => undefined);
  rawTypes.catch(() => undefined);
  return { file, session, rawTypes };
}
