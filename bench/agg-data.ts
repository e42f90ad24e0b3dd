import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';

/**
 * bench:agg's data, shared with bench:agg-ingest: `sourceRows` orders of `entities` customers
 * over 2025 (amounts of two decimals up to 500), stored like an fstore source (Parquet by day).
 * Random draws follow the connection's seed: seed it first for the same data every time.
 */
export const yearStart = "TIMESTAMP '2025-01-01 00:00:00'";

/** A customer id `C000123` from a random draw (the floor of `draw`). */
export const customerId = (draw: string) =>
  `'C' || lpad(CAST(CAST(floor(${draw}) AS BIGINT) AS VARCHAR), 6, '0')`;

/** A time uniformly drawn over the year, in microseconds. */
export const timeInYear = `${yearStart} + to_microseconds(CAST(floor(random() * 365 * 86400e6) AS BIGINT))`;

const exists = async (file: string) => (await stat(file).catch(() => undefined)) !== undefined;

/**
 * Writes the orders source under `orders` (`dt=<day>/*.parquet`) unless it is there already;
 * written aside and renamed, so an interrupted run never leaves half a source.
 */
export async function writeOrders(
  connection: DuckDBConnection,
  orders: string,
  sizes: { readonly sourceRows: number; readonly entities: number },
): Promise<void> {
  if (await exists(orders)) return;
  const partial = `${orders}.partial`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(path.dirname(partial), { recursive: true });
  await connection.run(`
    COPY (
      SELECT *, strftime(event_ts, '%Y-%m-%d') AS dt FROM (
        SELECT ${customerId(`random() * ${sizes.entities}`)} AS customer_id,
               round(random() * 500, 2) AS amount,
               ${timeInYear} AS event_ts,
               CAST(i AS BIGINT) AS fstore_seq
        FROM range(${sizes.sourceRows}) t(i)
      )
    ) TO '${partial}' (FORMAT parquet, PARTITION_BY (dt), COMPRESSION zstd)`);
  await rename(partial, orders);
}
