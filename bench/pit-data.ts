import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';

export interface PitBenchSizes {
  readonly entityRows: number;
  readonly featureRows: number;
  readonly entities: number;
}

const yearStart = "TIMESTAMP '2025-01-01 00:00:00'";

/**
 * Writes the benchmark data with DuckDB itself (seeded): `sources` feature sources of
 * `featureRows / sources` rows each, Hive-partitioned by day like ingest writes them, and one
 * entity file. Event times are random microseconds over a year, so ties do not occur and
 * ASOF JOIN (which has no created-time tie-break) is a fair baseline.
 */
export async function writePitBenchData(
  connection: DuckDBConnection,
  dir: string,
  sizes: PitBenchSizes,
  sources: readonly string[],
): Promise<void> {
  await connection.run('SELECT setseed(0.42)');
  const perSource = Math.floor(sizes.featureRows / sources.length);
  for (const [index, source] of sources.entries()) {
    const target = path.join(dir, 'offline', source);
    if (await exists(target)) continue;
    const partial = `${target}.partial`;
    await rm(partial, { recursive: true, force: true });
    await mkdir(partial, { recursive: true });
    await connection.run(`
      COPY (
        SELECT *, strftime(event_ts, '%Y-%m-%d') AS dt FROM (
          SELECT 'C' || lpad(CAST(CAST(floor(random() * ${sizes.entities}) AS BIGINT) AS VARCHAR), 6, '0') AS customer_id,
                 round(random() * 1000, 2) AS value,
                 CAST(floor(random() * 100) AS INTEGER) AS bucket,
                 ${yearStart} + to_microseconds(CAST(floor(random() * 365 * 86400e6) AS BIGINT)) AS event_ts,
                 CAST(i AS BIGINT) + ${index * perSource} AS fstore_seq
          FROM range(${perSource}) t(i)
        )
      ) TO '${partial}' (FORMAT parquet, PARTITION_BY (dt), COMPRESSION zstd)`);
    await rename(partial, target);
  }
  const entities = path.join(dir, 'entities.parquet');
  if (await exists(entities)) return;
  await connection.run(`
    COPY (
      SELECT 'C' || lpad(CAST(CAST(floor(random() * ${sizes.entities}) AS BIGINT) AS VARCHAR), 6, '0') AS customer_id,
             ${yearStart} + to_microseconds(CAST(floor(random() * 365 * 86400e6) AS BIGINT)) AS event_timestamp,
             CAST(floor(random() * 2) AS INTEGER) AS label,
             CAST(i + 1 AS BIGINT) AS fstore_row_id
      FROM range(${sizes.entityRows}) t(i)
    ) TO '${entities}' (FORMAT parquet, COMPRESSION zstd)`);
}

async function exists(file: string): Promise<boolean> {
  return (await stat(file).catch(() => undefined)) !== undefined;
}
