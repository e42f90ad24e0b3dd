import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
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
  const dir = bucketsDir(path.dirname(totalsFile));
  const name = path.basename(totalsFile, '.parquet');
  const file = path.join(dir, `${name}-${stampOf(await stat(totalsFile))}.parquet`);
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
    await syncFile(partial);
    await rename(partial, file);
  } finally {
    await rm(partial, { force: true });
  }
  await removeStaleBuckets(path.dirname(totalsFile), path.basename(file), started);
  return { relation: read, width, lastTime };
}

/** The stamp of a totals file's state: its size, mtime and inode. */
function stampOf(totals: { size: number; mtimeMs: number; ino: number }): string {
  return contentHash([totals.size, totals.mtimeMs, totals.ino], 16);
}

async function syncFile(file: string): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * The width and last time a buckets file records; undefined when there is none. A file that
 * cannot be read or records no integer width and last time is a damaged cache: it is removed,
 * so the caller writes it anew instead of failing every training set until the totals change.
 */
async function readBucketing(
  connection: DuckDBConnection,
  file: string,
): Promise<{ width: number; lastTime: number } | undefined> {
  if (!(await stat(file).catch(() => undefined))) return undefined;
  try {
    const rows = await queryRows(
      connection,
      `SELECT decode(value) AS value FROM parquet_kv_metadata(${quoteLiteral(file)}) WHERE decode(key) = ${quoteLiteral(bucketingKey)}`,
    );
    const value = rows[0]?.value;
    const { width, lastTime } = JSON.parse(String(value)) as {
      width?: unknown;
      lastTime?: unknown;
    };
    if (Number.isSafeInteger(width) && Number.isSafeInteger(lastTime))
      return { width: width as number, lastTime: lastTime as number };
  } catch {
    // damaged: written anew below
  }
  await rm(file, { force: true });
  return undefined;
}

/**
 * Buckets no totals state uses any more: their totals file is gone, or was rebuilt under the
 * same name (its stamp changed); and temporaries of writers killed over an hour ago. Buckets of
 * a totals file as it is now are kept, whoever wrote them and whenever: a writer that used an
 * older state must not remove the current state's buckets under a reader.
 */
async function removeStaleBuckets(totalsDir: string, kept: string, started: number): Promise<void> {
  const dir = bucketsDir(totalsDir);
  await Promise.all(
    (await readdir(dir)).map(async (name) => {
      if (name === kept) return;
      const file = path.join(dir, name);
      if (name.endsWith('.partial')) {
        const written = await stat(file).catch(() => undefined);
        if (written && written.mtimeMs < started - abandonedTemporaryAgeMs)
          await rm(file, { force: true });
        return;
      }
      const parts = /^(.+)-([0-9a-f]{16})\.parquet$/.exec(name);
      if (!parts) return;
      const totals = await stat(path.join(totalsDir, `${parts[1]}.parquet`)).catch(() => undefined);
      if (!totals || stampOf(totals) !== parts[2]) await rm(file, { force: true });
    }),
  );
}
