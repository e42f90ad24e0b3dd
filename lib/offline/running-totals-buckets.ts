import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { contentHash } from '../registry/stable-json.ts';
import { type Dialect, quoteLiteral } from '../sql/dialect.ts';
import type { PlannedView } from '../sql/point-in-time-plan.ts';
import { totalsColumns } from '../sql/render-running-totals.ts';
import {
  renderBucketKeys,
  renderLayeredBuckets,
  renderRowsOfIncrementKeys,
  renderTimeBuckets,
  type TimeBuckets,
} from '../sql/render-running-totals-buckets.ts';
import { renderLayeredTotals, totalsLayout } from '../sql/render-running-totals-increment.ts';
import { keyIdRowsOf, totalsRowsOf } from '../sql/render-running-totals-key-ids.ts';
import { queryRows } from './duckdb-session.ts';
import { syncFile } from './ingest-manifest.ts';
import { basesDir } from './running-totals-state.ts';

/** Where a totals file's time buckets are kept: `<totals dir>/buckets/`. */
export function bucketsDir(totalsDir: string): string {
  return path.join(totalsDir, 'buckets');
}

const bucketingKey = 'fstore_time_buckets';
/**
 * What a buckets file of this version records under bucketingKey. Files of the earlier format
 * (one width for all keys, `{width, lastTime}`) read as damaged and are written anew.
 */
const bucketingFormat = 2;
/** A killed writer's temporary is removed by a later writer once it is this old. */
const abandonedTemporaryAgeMs = 60 * 60 * 1000;
/** The per-key table a write fills first; dropped after. */
const keysTable = 'fstore_bucket_keys';

/**
 * How a totals state is read (running-totals.ts): its totals rows, its key ids, and for an
 * increment the base file it masks.
 */
export interface TotalsRelations {
  readonly relation: string;
  readonly keyIds: string;
  readonly base?: string;
}

/**
 * The time buckets of a totals state (render-running-totals-buckets.ts), written on first use
 * and kept next to the totals as a cache. A full build's cover every key. An increment's are two
 * layers (renderLayeredBuckets): its base's own buckets, written when the base was built and
 * kept while the base is, and buckets of the keys the increment holds, so an ingest rewrites
 * the buckets of the keys it changed, not of every key. Undefined when the totals have no rows:
 * the lookup then uses the ASOF join.
 */
export async function ensureTimeBuckets(
  connection: DuckDBConnection,
  dialect: Dialect,
  view: PlannedView,
  totalsFile: string,
  relations: TotalsRelations,
): Promise<TimeBuckets | undefined> {
  const totalsDir = path.dirname(totalsFile);
  if (!relations.base)
    return ensureBucketsOf(connection, dialect, view, totalsDir, totalsFile, relations);
  const read = (file: string) => `read_parquet(${quoteLiteral(file)})`;
  const keys = totalsLayout(view).keys;
  const base = await ensureBucketsOf(connection, dialect, view, totalsDir, relations.base, {
    relation: totalsRowsOf(read(relations.base)),
    keyIds: keyIdRowsOf(keys, dialect, read(relations.base)),
  });
  const increment = read(totalsFile);
  const changed = await ensureBucketsOf(connection, dialect, view, totalsDir, totalsFile, {
    relation: renderLayeredTotals(
      renderRowsOfIncrementKeys(read(relations.base), increment),
      increment,
    ),
    keyIds: renderRowsOfIncrementKeys(keyIdRowsOf(keys, dialect, increment), increment),
  });
  if (!base || !changed) return base ?? changed;
  return renderLayeredBuckets(base, changed);
}

/**
 * The buckets of the totals rows of `relations`, cached under the name of `totalsFile` (a
 * state's file, or a base in `bases/`) in `<totalsDir>/buckets/`, in two files:
 * `<totals name>-<stamp>.keys.parquet` (one row a key: its id, width and last time) and
 * `<totals name>-<stamp>.parquet` (the repeated rows), the stamp hashing the totals file's size,
 * mtime and inode, so a rebuilt totals file under the same name (a full build after an
 * increment numbers keys anew) never meets the buckets of the old one. Each is written under a
 * temporary name and renamed, the keys first: the repeated rows' rename is the commit point,
 * and a reader uses the pair only when both read as this format. Two writers of one state write
 * the same widths (a function of the totals), so a reader that meets one's keys and the other's
 * rows still gets a matching pair. Undefined when there are no totals rows.
 */
async function ensureBucketsOf(
  connection: DuckDBConnection,
  dialect: Dialect,
  view: PlannedView,
  totalsDir: string,
  totalsFile: string,
  relations: TotalsRelations,
): Promise<TimeBuckets | undefined> {
  const dir = bucketsDir(totalsDir);
  const name = path.basename(totalsFile, '.parquet');
  const stem = path.join(dir, `${name}-${stampOf(await stat(totalsFile))}`);
  const file = `${stem}.parquet`;
  const keysFile = `${stem}.keys.parquet`;
  const found: TimeBuckets = {
    relation: `read_parquet(${quoteLiteral(file)})`,
    keys: `read_parquet(${quoteLiteral(keysFile)})`,
  };
  if (await isWritten(connection, file, keysFile)) return found;

  await connection.run(
    `CREATE OR REPLACE TEMP TABLE ${keysTable} AS ${renderBucketKeys(relations.relation, relations.keyIds, totalsLayout(view).keys, dialect)}`,
  );
  try {
    const [count] = await queryRows(connection, `SELECT count(*) AS n FROM ${keysTable}`);
    if (Number(count?.n ?? 0) === 0) return undefined;
    const { additive, latest } = totalsColumns(view);
    const stored = [...additive, ...latest.flatMap((l) => [l.value, l.time])];
    const started = Date.now();
    await mkdir(dir, { recursive: true });
    await writeCommitted(connection, `SELECT * FROM ${keysTable}`, keysFile);
    await writeCommitted(
      connection,
      renderTimeBuckets(relations.relation, keysTable, stored, dialect),
      file,
    );
    await removeStaleBuckets(totalsDir, [file, keysFile], started);
    return found;
  } finally {
    await connection.run(`DROP TABLE IF EXISTS ${keysTable}`);
  }
}

/** Writes the rows of `sql` to `file` through a temporary, fsynced, then renamed. */
async function writeCommitted(connection: DuckDBConnection, sql: string, file: string) {
  const partial = `${file}.${process.pid}.partial`;
  try {
    const metadata = JSON.stringify({ format: bucketingFormat });
    // snappy: the buckets are a cache rewritten with every totals state, and snappy writes them
    // with ~25 % less CPU than zstd for ~30 % more bytes (ADR 0007).
    await connection.run(
      `COPY (${sql}) TO ${quoteLiteral(partial)} (FORMAT parquet, COMPRESSION snappy, KV_METADATA {${bucketingKey}: ${quoteLiteral(metadata)}})`,
    );
    await syncFile(partial);
    await rename(partial, file);
  } finally {
    await rm(partial, { force: true });
  }
}

/** The stamp of a totals file's state: its size, mtime and inode. */
function stampOf(totals: { size: number; mtimeMs: number; ino: number }): string {
  return contentHash([totals.size, totals.mtimeMs, totals.ino], 16);
}

/**
 * Whether both files of a state's buckets are there and record this format. A pair with a file
 * missing, unreadable or of another format is a damaged (or outdated) cache: both are removed,
 * so the caller writes them anew instead of failing every training set until the totals change.
 */
async function isWritten(
  connection: DuckDBConnection,
  file: string,
  keysFile: string,
): Promise<boolean> {
  if (!(await stat(file).catch(() => undefined))) return false;
  const formatOf = async (parquet: string) => {
    try {
      const rows = await queryRows(
        connection,
        `SELECT decode(value) AS value FROM parquet_kv_metadata(${quoteLiteral(parquet)}) WHERE decode(key) = ${quoteLiteral(bucketingKey)}`,
      );
      return (JSON.parse(String(rows[0]?.value)) as { format?: unknown }).format;
    } catch {
      return undefined; // missing or damaged
    }
  };
  if ((await formatOf(file)) === bucketingFormat && (await formatOf(keysFile)) === bucketingFormat)
    return true;
  await Promise.all([rm(file, { force: true }), rm(keysFile, { force: true })]);
  return false;
}

/**
 * Buckets no totals state uses any more: their totals file (in the totals folder, or a base in
 * `bases/`) is gone, or was rebuilt under the same name (its stamp changed); and temporaries of
 * writers killed over an hour ago. Buckets of a totals file as it is now are kept, whoever wrote
 * them and whenever: a writer that used an older state must not remove the current state's
 * buckets under a reader.
 */
async function removeStaleBuckets(
  totalsDir: string,
  kept: readonly string[],
  started: number,
): Promise<void> {
  const dir = bucketsDir(totalsDir);
  const keptNames = new Set(kept.map((file) => path.basename(file)));
  await Promise.all(
    (await readdir(dir)).map(async (name) => {
      if (keptNames.has(name)) return;
      const file = path.join(dir, name);
      if (name.endsWith('.partial')) {
        const written = await stat(file).catch(() => undefined);
        if (written && written.mtimeMs < started - abandonedTemporaryAgeMs)
          await rm(file, { force: true });
        return;
      }
      const parts = /^(.+)-([0-9a-f]{16})(?:\.keys)?\.parquet$/.exec(name);
      if (!parts) return;
      const stamps = await Promise.all(
        [totalsDir, basesDir(totalsDir)].map(async (folder) => {
          const totals = await stat(path.join(folder, `${parts[1]}.parquet`)).catch(
            () => undefined,
          );
          return totals && stampOf(totals);
        }),
      );
      if (!stamps.includes(parts[2])) await rm(file, { force: true });
    }),
  );
}
