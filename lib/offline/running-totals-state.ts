import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { quoteLiteral } from '../sql/dialect.ts';
import { queryRows } from './duckdb-session.ts';

/**
 * What a running-totals file records about itself in its Parquet key-value metadata, so that
 * the next build can extend it instead of starting over (ADR 0007, "Incremental builds").
 */
export interface TotalsState {
  readonly file: string;
  /** Binary scale per summed float column kept as exact integers (chooseSumScales). */
  readonly sumScales: ReadonlyMap<string, number>;
  /**
   * The source's stored files the totals cover, one `<path>\t<size>\t<mtime>` line each
   * (their hash is the file name's second part); undefined for totals of an older format.
   */
  readonly covered?: readonly string[];
  /** The sum-scale statistics (renderSumScalesQuery's row) over the covered rows. */
  readonly statistics?: Readonly<Record<string, number | null>>;
  /** For an increment: the base file it masks, in `bases/` next to it. */
  readonly base?: string;
}

export const sumScalesKey = 'fstore_sum_scales';
const stateKey = 'fstore_totals_state';
const stateVersion = 1;

/** Where the bases of increments are kept: `<totals dir>/bases/`. */
export function basesDir(totalsDir: string): string {
  return path.join(totalsDir, 'bases');
}

/** The KV_METADATA clause of a totals file's COPY. */
export function stateMetadata(state: Omit<TotalsState, 'file'>): string {
  const scales = JSON.stringify(Object.fromEntries(state.sumScales));
  const recorded = JSON.stringify({
    version: stateVersion,
    covered: state.covered,
    statistics: state.statistics,
    ...(state.base ? { base: state.base } : {}),
  });
  return `KV_METADATA {${sumScalesKey}: ${quoteLiteral(scales)}, ${stateKey}: ${quoteLiteral(recorded)}}`;
}

/** The state a totals file records; throws when it records no sum scales (not a totals file). */
export async function readTotalsState(
  connection: DuckDBConnection,
  file: string,
): Promise<TotalsState> {
  const rows = await queryRows(
    connection,
    `SELECT decode(key) AS key, decode(value) AS value FROM parquet_kv_metadata(${quoteLiteral(file)})`,
  );
  const value = (key: string) => rows.find((r) => r.key === key)?.value;
  const scales = value(sumScalesKey);
  if (typeof scales !== 'string')
    throw new Error(`running totals ${file} have no ${sumScalesKey} metadata`);
  const sumScales = new Map(Object.entries(JSON.parse(scales) as Record<string, number>));
  const recorded = value(stateKey);
  if (typeof recorded !== 'string') return { file, sumScales };
  const state = JSON.parse(recorded) as {
    version?: number;
    covered?: string[];
    statistics?: Record<string, number | null>;
    base?: string;
  };
  if (state.version !== stateVersion || !Array.isArray(state.covered)) return { file, sumScales };
  return {
    file,
    sumScales,
    covered: state.covered,
    statistics: state.statistics ?? {},
    ...(state.base ? { base: path.join(basesDir(path.dirname(file)), state.base) } : {}),
  };
}

/** Rows of a Parquet file, from its footer. */
export async function parquetRows(connection: DuckDBConnection, file: string): Promise<number> {
  const [row] = await queryRows(
    connection,
    `SELECT sum(num_rows) AS n FROM parquet_file_metadata(${quoteLiteral(file)})`,
  );
  return Number(row?.n ?? 0);
}
