import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { quoteLiteral } from '../sql/dialect.ts';
import { queryRows } from './duckdb-session.ts';

/** Files an ingest or a compaction aims for; a partition's rows above it go to several files. */
export const defaultTargetFileBytes = 128 * 1024 ** 2;

/** The smallest target accepted: below it DuckDB's row groups, not the target, decide sizes. */
export const minTargetFileBytes = 1024 ** 2;

/**
 * Up to this many partitions in one write, DuckDB keeps every partition's file open, so the
 * rows need no order. Beyond it the limit is not raised further (file descriptors) and the
 * rows are ordered by partition, so the files it closes early are of partitions already done.
 */
export const maxOpenPartitionFiles = 1000;

/**
 * A size such as `128MB`, `1GiB`, `500kb` or a number of bytes, as bytes; throws naming `what`
 * when it is not one, or is below `minTargetFileBytes`.
 */
export function parseFileSize(text: string, what: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?\s*$/i.exec(text);
  if (!match)
    throw new RangeError(
      `${what} must be a size such as 128MB, 1GB or 67108864 (bytes); got "${text}"`,
    );
  const units: Record<string, number> = {
    b: 1,
    kb: 1000,
    kib: 1024,
    mb: 1000 ** 2,
    mib: 1024 ** 2,
    gb: 1000 ** 3,
    gib: 1024 ** 3,
  };
  const bytes = Math.round(Number(match[1]) * (units[(match[2] ?? 'b').toLowerCase()] ?? 1));
  if (bytes < minTargetFileBytes)
    throw new RangeError(
      `${what} must be at least 1MiB (${minTargetFileBytes} bytes); got "${text}"`,
    );
  return bytes;
}

/**
 * Writes `select` (which has a `dt` column and `fstore_seq`) as `<dir>/dt=.../<id>-<n>.parquet`:
 * one file per partition, and for a partition whose file comes out larger than `targetBytes`,
 * files of about that size. DuckDB's partitioned COPY writes one file per partition only while
 * it can keep every partition's file open (`partitioned_write_max_open_files`, default 100) and
 * rows of a partition arrive together; otherwise it closes and reopens files, which made a
 * year of rows in input order 14 files per day. So the limit is raised to the number of
 * partitions; only above maxOpenPartitionFiles are the rows ordered by `dt` first (the sort is
 * most of a write's memory, so it is skipped whenever it is not needed). FILE_SIZE_BYTES
 * cannot be combined with PARTITION_BY, so oversized files are split after.
 */
export async function writePartitionedFiles(
  connection: DuckDBConnection,
  step: {
    readonly select: string;
    readonly orderBy: string;
    readonly dir: string;
    readonly id: string;
    readonly targetBytes: number;
  },
): Promise<void> {
  const [counted] = await queryRows(
    connection,
    `SELECT count(DISTINCT dt) AS n FROM (${step.select})`,
  );
  const partitions = Number(counted?.n ?? 0);
  await connection.run(
    `SET partitioned_write_max_open_files = ${Math.min(Math.max(partitions + 1, 100), maxOpenPartitionFiles)}`,
  );
  const order = partitions > maxOpenPartitionFiles ? ` ORDER BY dt, ${step.orderBy}` : '';
  await connection.run(
    `COPY (${step.select}${order}) TO ${quoteLiteral(step.dir)} (FORMAT parquet, PARTITION_BY (dt), FILENAME_PATTERN ${quoteLiteral(`${step.id}-{i}`)}, COMPRESSION zstd)`,
  );
  for (const partition of await readdir(step.dir, { withFileTypes: true })) {
    if (!partition.isDirectory()) continue;
    const folder = path.join(step.dir, partition.name);
    for (const name of await readdir(folder)) {
      const file = path.join(folder, name);
      if ((await stat(file)).size > step.targetBytes)
        await splitFile(connection, file, step.id, step.targetBytes);
    }
  }
}

/**
 * Rewrites one staged file as files of about `targetBytes` (DuckDB closes a file at the first
 * row group past the size), in `fstore_seq` order, named `<id>-<n>` after the highest `n` in
 * its folder; the original is removed.
 */
async function splitFile(
  connection: DuckDBConnection,
  file: string,
  id: string,
  targetBytes: number,
): Promise<void> {
  const folder = path.dirname(file);
  const parts = `${folder}.split`;
  await rm(parts, { recursive: true, force: true });
  await writeSizedFiles(connection, {
    select: `SELECT * FROM read_parquet(${quoteLiteral(file)})`,
    orderBy: 'fstore_seq',
    dir: parts,
    id,
    targetBytes,
  });
  await rm(file);
  let next = nextFileNumber(await readdir(folder), id);
  for (const name of (await readdir(parts)).sort())
    await rename(path.join(parts, name), path.join(folder, `${id}-${next++}.parquet`));
  await rm(parts, { recursive: true, force: true });
}

/** Writes `select` into `<dir>/<id>-<n>.parquet` files of about `targetBytes` each. */
export async function writeSizedFiles(
  connection: DuckDBConnection,
  step: {
    readonly select: string;
    readonly orderBy: string;
    readonly dir: string;
    readonly id: string;
    readonly targetBytes: number;
  },
): Promise<string[]> {
  await mkdir(path.dirname(step.dir), { recursive: true });
  await connection.run(
    `COPY (${step.select} ORDER BY ${step.orderBy}) TO ${quoteLiteral(step.dir)} (FORMAT parquet, FILENAME_PATTERN ${quoteLiteral(`${step.id}-{i}`)}, COMPRESSION zstd, FILE_SIZE_BYTES ${step.targetBytes})`,
  );
  return (await readdir(step.dir)).sort().map((name) => path.join(step.dir, name));
}

/** One above the highest `n` of the `<id>-<n>.parquet` names in `names` (0 if none). */
function nextFileNumber(names: readonly string[], id: string): number {
  let next = 0;
  for (const name of names) {
    const n = new RegExp(`^${id}-(\\d+)\\.parquet$`).exec(name)?.[1];
    if (n !== undefined) next = Math.max(next, Number(n) + 1);
  }
  return next;
}
