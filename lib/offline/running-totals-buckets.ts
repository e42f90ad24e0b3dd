import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { contentHash } from '../registry/stable-json.ts';
import { type Dialect, quoteLiteral } from '../sql/dialect.ts';
import type { PlannedView } from '../sql/point-in-time-plan.ts';
import { totalsColumns } from '../sql/render-running-totals.ts';
import {
  renderTimeBucketStatistics,
  renderTimeBuckets,
  type TimeBuckets,
  timeBucketWidth,
} from '../sql/render-running-totals-buckets.ts';
import { queryRows } from './duckdb-session.ts';

/** Where a totals file's time buckets are kept: `<totals dir>/buckets/`. */
export function bucketsDir(totalsDir: string): string {
  return path.join(totalsDir, 'buckets');
}

const bucketingKey = 'fstore_time_buckets';
/** A killed writer's temporary is removed by a later writer once it is this old. */
const abandonedTemporaryAgeMs = 60 * 60 * 1000;

/**
 * The time buckets of a totals state (render-running-totals-buckets.ts), written on first use
 * and kept next to the totals as a cache: `buckets/<totals name>-<stamp>.parquet`, the stamp
 * hashing the totals file's size, mtime and inode, so a rebuilt totals file under the same name
 * (a full build after an increment numbers keys anew) never meets the buckets of the old one.
 * Written under a temporary name and renamed, like the totals. Undefined when the totals have
 * no rows or times too far out for exact arithmetic in JavaScript: the lookup then uses the
 * ASOF join.
 */
export async function ensureTimeBuckets(
  connection: DuckDBConnection,
  dialect: Dialect,
  view: PlannedView,
  totalsFile: string,
  relation: string,
): Promise<TimeBuckets | undefined> {
  const totals = await stat(totalsFile);
  const dir = bucketsDir(path.dirname(totalsFile));
  const name = path.basename(totalsFile, '.parquet');
  const stamp = contentHash([totals.size, totals.mtimeMs, totals.ino], 16);
  const file = path.join(dir, `${name}-${stamp}.parquet`);
  const read = `read_parquet(${quoteLiteral(file)})`;
  const found = await readBucketing(connection, file);
  if (found) return { relation: read, ...found };

  const [stats] = await queryRows(connection, renderTimeBucketStatistics(relation));
  const rows = Number(stats?.total_rows ?? 0);
  const firstTime = Number(stats?.first_time);
  const lastTime = Number(stats?.last_time);
  if (rows === 0 || !Number.isSafeInteger(firstTime) || !Number.isSafeInteger(lastTime))
    return undefined;
  const width = timeBucketWidth({
    rows,
    keys: Number(stats?.key_count ?? 0),
    densestKeyRows: Number(stats?.densest_key_rows ?? 0),
    firstTime,
    lastTime,
  });
  if (width === undefined || !Number.isSafeInteger(width)) return undefined;
  const { additive, latest } = totalsColumns(view);
  const stored = [...additive, ...latest.flatMap((l) => [l.value, l.time])];
  const sql = renderTimeBuckets(relation, stored, { width, lastTime }, dialect);
  const started = Date.now();
  await mkdir(dir, { recursive: true });
  const partial = `${file}.${process.pid}.partial`;
  try {
    const metadata = JSON.stringify({ width, lastTime });
    await connection.run(
      `COPY (${sql}) TO ${quoteLiteral(partial)} (FORMAT parquet, COMPRESSION zstd, KV_METADATA {${bucketingKey}: ${quoteLiteral(metadata)}})`,
    );
    await rename(partial, file);
  } finally {
    await rm(partial, { force: true });
  }
  await removeOlderBuckets(dir, name.split('-')[0] ?? name, path.basename(file), started);
  return { relation: read, width, lastTime };
}

async function readBucketing(
  connection: DuckDBConnection,
  file: string,
): Promise<{ width: number; lastTime: number } | undefined> {
  if (!(await stat(file).catch(() => undefined))) return undefined;
  const rows = await queryRows(
    connection,
    `SELECT decode(value) AS value FROM parquet_kv_metadata(${quoteLiteral(file)}) WHERE decode(key) = ${quoteLiteral(bucketingKey)}`,
  );
  const value = rows[0]?.value;
  if (typeof value !== 'string') throw new Error(`time buckets ${file} have no ${bucketingKey}`);
  const { width, lastTime } = JSON.parse(value) as { width?: unknown; lastTime?: unknown };
  if (!Number.isSafeInteger(width) || !Number.isSafeInteger(lastTime))
    throw new Error(`time buckets ${file} record no integer width and last time: ${value}`);
  return { width: width as number, lastTime: lastTime as number };
}

/**
 * Buckets of this spec's older totals (superseded: the spec's totals were rebuilt), and
 * temporaries of writers killed over an hour ago. Buckets written after ours began stay.
 */
async function removeOlderBuckets(
  dir: string,
  spec: string,
  kept: string,
  started: number,
): Promise<void> {
  const names = (await readdir(dir)).filter((name) => name.startsWith(`${spec}-`) && name !== kept);
  await Promise.all(
    names.map(async (name) => {
      const file = path.join(dir, name);
      const written = await stat(file).catch(() => undefined);
      if (!written) return;
      const age = name.endsWith('.partial') ? abandonedTemporaryAgeMs : 0;
      if (written.mtimeMs < started - age) await rm(file, { force: true });
    }),
  );
}
