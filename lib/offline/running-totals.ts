import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Registry } from '../registry/index.ts';
import { contentHash } from '../registry/stable-json.ts';
import { type Dialect, quoteLiteral } from '../sql/dialect.ts';
import { type PlannedView, planPointInTime } from '../sql/point-in-time-plan.ts';
import {
  answeredByRunningTotals,
  chooseSumScales,
  type RunningTotalsSource,
  renderRunningTotalsBuild,
  renderSumScalesQuery,
  runningTotalsSpec,
} from '../sql/render-running-totals.ts';
import { queryRows } from './duckdb-session.ts';
import { presentCommittedSourceFiles, sourceDataFiles } from './ingest-manifest.ts';

/**
 * The temporary name a build writes before renaming into place:
 * `<spec>-<stored rows>.parquet.<pid>-<uuid>.partial`, the pid being the building process's, so
 * `fstore doctor` can tell a killed build's file from one being written (builds take no lock).
 */
export function runningTotalsTemporary(file: string, pid = process.pid): string {
  return `${file}.${pid}-${randomUUID()}.partial`;
}

/**
 * Whether `name` is a build's temporary file, and its owner pid when the name records one
 * (fstore versions before the pid wrote `<...>.parquet.<uuid>.partial`).
 */
export function parseRunningTotalsTemporary(name: string): { pid?: number } | undefined {
  const match =
    /\.parquet\.(?:(\d+)-)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.partial$/.exec(
      name,
    );
  if (!match) return undefined;
  return match[1] === undefined ? {} : { pid: Number(match[1]) };
}

/** `<offlineRoot>/_running_totals/<source>/<spec>-<stored rows>.parquet`. */
export function runningTotalsDir(offlineRoot: string, source: string): string {
  return path.join(offlineRoot, '_running_totals', source);
}

/**
 * Names, sizes and modification times of a source's committed files (every stored file of a
 * store without a manifest): changes with every committed ingest, not with uncommitted files.
 */
async function storedRowsFingerprint(
  offlineRoot: string,
  source: string,
): Promise<string | undefined> {
  const sourceDir = path.join(offlineRoot, source);
  const files =
    presentCommittedSourceFiles(offlineRoot, source) ??
    sourceDataFiles(offlineRoot, source)
      .map(({ folder, name }) => path.join(folder, name))
      .sort();
  if (files.length === 0) return undefined;
  const lines = await Promise.all(
    files.map(async (file) => {
      const { size, mtimeMs } = await stat(file);
      return `${path.relative(sourceDir, file)}\t${size}\t${mtimeMs}`;
    }),
  );
  return contentHash(lines, 16);
}

export interface RunningTotals extends RunningTotalsSource {
  readonly file: string;
  /** Whether this call built them (the stored rows changed since the last build). */
  readonly built: boolean;
}

/**
 * The whole of an aggregation view as running totals see it: every feature, so one build serves
 * any request of its features. Undefined when running totals answer none of them.
 */
export function runningTotalsView(registry: Registry, view: string): PlannedView | undefined {
  const [planned] = planPointInTime(
    registry,
    { features: [`${view}:*`] },
    { entityTimestampColumn: 'fstore_entity_ts' },
  ).views;
  return planned?.aggregations?.some(answeredByRunningTotals) ? planned : undefined;
}

/**
 * Builds (or finds up to date) the running totals of every aggregation view over `source`;
 * `onBuild` is called before each build, so never for a source no aggregation view reads.
 */
export async function refreshRunningTotals(
  connection: DuckDBConnection,
  offlineRoot: string,
  dialect: Dialect,
  registry: Registry,
  source: string,
  onBuild?: () => void,
): Promise<void> {
  for (const view of registry.featureViews.filter((v) => v.source === source)) {
    const planned = runningTotalsView(registry, view.name);
    if (planned) await ensureRunningTotals(connection, offlineRoot, dialect, planned, onBuild);
  }
}

/**
 * The running totals of `view`'s source (plan the view with runningTotalsView), built when
 * missing or when the source's stored files changed since they were built; undefined when the
 * source has no stored rows yet. A build writes a new file and renames it into place, so
 * concurrent readers never see half a file; totals of older stored rows are removed after.
 */
export async function ensureRunningTotals(
  connection: DuckDBConnection,
  offlineRoot: string,
  dialect: Dialect,
  view: PlannedView,
  onBuild?: () => void,
): Promise<RunningTotals | undefined> {
  const fingerprint = await storedRowsFingerprint(offlineRoot, view.source);
  if (!fingerprint) return undefined;
  const dir = runningTotalsDir(offlineRoot, view.source);
  const spec = contentHash(runningTotalsSpec(view), 16);
  const file = path.join(dir, `${spec}-${fingerprint}.parquet`);
  const relation = `read_parquet(${quoteLiteral(file)})`;
  if (await stat(file).catch(() => undefined))
    return { relation, file, built: false, sumScales: await readSumScales(connection, file) };

  onBuild?.();
  const started = Date.now();
  await mkdir(dir, { recursive: true });
  const partial = runningTotalsTemporary(file);
  const scalesQuery = renderSumScalesQuery(view, dialect);
  const scales = scalesQuery
    ? chooseSumScales(view, (await queryRows(connection, scalesQuery))[0] ?? {})
    : new Map<string, number>();
  try {
    const metadata = quoteLiteral(JSON.stringify(Object.fromEntries(scales)));
    await connection.run(
      `COPY (${renderRunningTotalsBuild(view, dialect, scales)}) TO ${quoteLiteral(partial)} (FORMAT parquet, COMPRESSION zstd, KV_METADATA {${sumScalesKey}: ${metadata}})`,
    );
    await rename(partial, file);
  } finally {
    await rm(partial, { force: true });
  }
  await removeOlderBuilds(dir, spec, path.basename(file), started);
  return { relation, file, built: true, sumScales: scales };
}

/**
 * Totals of the same spec over older stored rows. Only files written before this build began
 * go: a concurrent build for newer rows (an ingest during ours) keeps its file.
 */
async function removeOlderBuilds(
  dir: string,
  spec: string,
  kept: string,
  started: number,
): Promise<void> {
  const names = (await readdir(dir)).filter(
    (name) => name.startsWith(`${spec}-`) && name.endsWith('.parquet') && name !== kept,
  );
  await Promise.all(
    names.map(async (name) => {
      const file = path.join(dir, name);
      const written = await stat(file).catch(() => undefined);
      if (written && written.mtimeMs < started) await rm(file, { force: true });
    }),
  );
}

const sumScalesKey = 'fstore_sum_scales';

/** The sum scales a build stored in its file's key-value metadata. */
async function readSumScales(
  connection: DuckDBConnection,
  file: string,
): Promise<Map<string, number>> {
  const [row] = await queryRows(
    connection,
    `SELECT decode(value) AS scales FROM parquet_kv_metadata(${quoteLiteral(file)}) WHERE decode(key) = ${quoteLiteral(sumScalesKey)}`,
  );
  if (!row) throw new Error(`running totals ${file} have no ${sumScalesKey} metadata`);
  return new Map(Object.entries(JSON.parse(String(row.scales)) as Record<string, number>));
}
