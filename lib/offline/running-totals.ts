import { randomUUID } from 'node:crypto';
import { link, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { faultPoint } from '../fault-injection.ts';
import { firstLine } from '../hinted-error.ts';
import type { Registry } from '../registry/index.ts';
import { contentHash } from '../registry/stable-json.ts';
import { type Dialect, quoteLiteral } from '../sql/dialect.ts';
import { type PlannedView, planPointInTime } from '../sql/point-in-time-plan.ts';
import {
  answeredByRunningTotals,
  chooseSumScales,
  type RunningTotalsSource,
  renderRunningTotalsBuild,
  runningTotalsSpec,
} from '../sql/render-running-totals.ts';
import type { TimeBuckets } from '../sql/render-running-totals-buckets.ts';
import {
  buildKeyIds,
  renderBuildKeys,
  renderBuildKeysStatistics,
} from '../sql/render-running-totals-build-keys.ts';
import {
  FullBuildRequired,
  renderLayeredTotals,
  totalsLayout,
} from '../sql/render-running-totals-increment.ts';
import {
  keyIdRowsOf,
  renderWithKeyIdRows,
  totalsRowsOf,
} from '../sql/render-running-totals-key-ids.ts';
import { queryRows } from './duckdb-session.ts';
import { ensureTimeBuckets } from './running-totals-buckets.ts';
import { writeIncrement } from './running-totals-increment.ts';
import {
  basesDir,
  readTotalsState,
  stateMetadata,
  type TotalsState,
} from './running-totals-state.ts';
import { storedFileLines } from './stored-file-lines.ts';
import { sumStatistics } from './sum-scale-statistics.ts';

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

/** How a call of ensureRunningTotals built the totals it returns. */
export type TotalsBuild =
  | {
      readonly kind: 'incremental';
      readonly seconds: number;
      /** Rows of the increment: the rebuilt totals rows of keys with new rows (and earlier ones). */
      readonly incrementRows: number;
      /** Whether it read the source's rows of those keys (a new row tied with a stored one). */
      readonly readSource: boolean;
    }
  | {
      readonly kind: 'full';
      readonly seconds: number;
      /** Why not incremental: no totals yet, the view changed, a sum scale changed ... */
      readonly reason: string;
    };

export interface RunningTotals extends RunningTotalsSource {
  readonly file: string;
  /** Whether this call built them (the stored rows changed since the last build). */
  readonly built: boolean;
  /** How, when built. */
  readonly build?: TotalsBuild;
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

/** What refreshRunningTotals did for one view. */
export interface TotalsRefresh {
  readonly view: string;
  /** Undefined when the totals were up to date (another view over the same totals built them). */
  readonly build?: TotalsBuild;
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
): Promise<TotalsRefresh[]> {
  const refreshed: TotalsRefresh[] = [];
  for (const view of registry.featureViews.filter((v) => v.source === source)) {
    const planned = runningTotalsView(registry, view.name);
    if (!planned) continue;
    const totals = await ensureRunningTotals(connection, offlineRoot, dialect, planned, onBuild);
    if (totals)
      refreshed.push({ view: view.name, ...(totals.build ? { build: totals.build } : {}) });
  }
  return refreshed;
}

export interface EnsureOptions {
  /** false: build in full even when an increment could extend the last totals. */
  readonly incremental?: boolean;
}

/**
 * The running totals of `view`'s source (plan the view with runningTotalsView), built when
 * missing or when the source's stored files changed since they were built; undefined when the
 * source has no stored rows yet. A build extends the last totals with an increment when that
 * gives the same rows as a full build (running-totals-increment.ts), and builds in full
 * otherwise, saying why. It writes a new file and renames it into place, so concurrent readers
 * never see half a file and a crash leaves the old totals or the new ones; totals of older
 * stored rows are removed after.
 */
export async function ensureRunningTotals(
  connection: DuckDBConnection,
  offlineRoot: string,
  dialect: Dialect,
  view: PlannedView,
  onBuild?: () => void,
  options: EnsureOptions = {},
): Promise<RunningTotals | undefined> {
  const stored = await storedFileLines(offlineRoot, view.source);
  if (!stored) return undefined;
  const covered = [...stored.keys()];
  const dir = runningTotalsDir(offlineRoot, view.source);
  const spec = contentHash(runningTotalsSpec(view), 16);
  const file = path.join(dir, `${spec}-${contentHash(covered, 16)}.parquet`);
  let damaged: string | undefined;
  if (await stat(file).catch(() => undefined)) {
    const found = await readTotalsState(connection, file).catch((error: unknown) => {
      damaged = `the totals are damaged (${firstLine(error)})`;
      return undefined;
    });
    if (found) {
      const relations = await stateRelation(found, view, dialect);
      if (relations)
        return {
          ...(await withTimeBuckets(connection, dialect, view, file, relations)),
          file,
          built: false,
          sumScales: found.sumScales,
        };
      damaged = 'the base of the totals is missing';
    }
  }

  onBuild?.();
  const started = Date.now();
  await mkdir(dir, { recursive: true });
  const partial = runningTotalsTemporary(file);
  try {
    const previous =
      options.incremental === false
        ? { reason: 'a full build was asked for' }
        : damaged
          ? { reason: damaged }
          : await previousTotals(connection, dir, spec, stored, view, dialect);
    let build: TotalsBuild | undefined;
    let sumScales: ReadonlyMap<string, number> = new Map();
    let reason = 'reason' in previous ? previous.reason : '';
    if ('state' in previous) {
      const base = previous.state.base ?? (await linkAsBase(previous.state.file));
      faultPoint('ingest:after-totals-base');
      const increment = await writeIncrement({
        connection,
        dialect,
        view,
        previous: previous.state,
        previousRelation: previous.relation,
        base,
        newFiles: previous.newFiles,
        covered,
        partial,
      }).catch((error: unknown) => {
        if (!(error instanceof FullBuildRequired)) throw error;
        reason = error.message;
        return undefined;
      });
      if (increment) {
        sumScales = increment.sumScales;
        build = {
          kind: 'incremental',
          seconds: 0,
          incrementRows: increment.rows,
          readSource: increment.readSource,
        };
      }
    }
    if (!build) {
      sumScales = await writeFullBuild(connection, dialect, view, covered, partial);
      build = { kind: 'full', seconds: 0, reason };
    }
    faultPoint('ingest:after-totals-write');
    await rename(partial, file);
    faultPoint('ingest:after-totals-rename');
    await removeOlderBuilds(dir, spec, path.basename(file), started);
    await removeUnusedBases(connection, dir, spec, started);
    const state = await readTotalsState(connection, file);
    const relations = await stateRelation(state, view, dialect);
    if (!relations) throw new Error(`running totals ${file} lost their base while being built`);
    const withBuckets = await withTimeBuckets(connection, dialect, view, file, relations);
    const seconds = (Date.now() - started) / 1000;
    return { ...withBuckets, file, built: true, sumScales, build: { ...build, seconds } };
  } finally {
    await rm(partial, { force: true });
  }
}

/** A state's relations and its time buckets, written now if missing (a cache of the state). */
async function withTimeBuckets(
  connection: DuckDBConnection,
  dialect: Dialect,
  view: PlannedView,
  file: string,
  relations: StateRelations,
): Promise<StateRelations & { buckets?: TimeBuckets }> {
  const buckets = await ensureTimeBuckets(connection, dialect, view, file, relations);
  return buckets ? { ...relations, buckets } : relations;
}

/** Writes a full build of the totals to `partial`; returns its sum scales. */
async function writeFullBuild(
  connection: DuckDBConnection,
  dialect: Dialect,
  view: PlannedView,
  covered: readonly string[],
  partial: string,
): Promise<ReadonlyMap<string, number>> {
  const layout = totalsLayout(view);
  try {
    // One read of the source for the dictionary and the sum-scale statistics; the window
    // pass then partitions by the ids.
    await connection.run(
      `CREATE OR REPLACE TEMP TABLE ${buildKeysTable} AS ${renderBuildKeys(view, dialect)}`,
    );
    const statisticsQuery = renderBuildKeysStatistics(view, dialect, buildKeysTable);
    const checks = statisticsQuery ? ((await queryRows(connection, statisticsQuery))[0] ?? {}) : {};
    const sumScales = chooseSumScales(view, checks);
    const metadata = stateMetadata({ sumScales, covered, statistics: sumStatistics(checks) });
    const ids = buildKeyIds(view, dialect, buildKeysTable);
    const totals = renderWithKeyIdRows(
      layout.keys,
      dialect,
      `(${renderRunningTotalsBuild(view, dialect, sumScales, ids)})`,
      ids,
    );
    await connection.run(
      `COPY (${totals}) TO ${quoteLiteral(partial)} (FORMAT parquet, COMPRESSION zstd, ${metadata})`,
    );
    return sumScales;
  } finally {
    await connection.run(`DROP TABLE IF EXISTS ${buildKeysTable}`);
  }
}

const buildKeysTable = 'fstore_full_build_keys';

/** A stored totals file: what it records, and how to read it (undefined: its base is gone). */
export async function readRunningTotals(
  connection: DuckDBConnection,
  file: string,
  view: PlannedView,
  dialect: Dialect,
): Promise<{ state: TotalsState; relations: StateRelations | undefined }> {
  const state = await readTotalsState(connection, file);
  return { state, relations: await stateRelation(state, view, dialect) };
}

/** How a totals state is read: its totals rows and its key ids. */
interface StateRelations {
  /** Its file's totals rows, or its base's masked by them (an increment). */
  readonly relation: string;
  /** Its file's key-id rows (an increment's hold its base's too). */
  readonly keyIds: string;
  /** An increment's base file (its time buckets are kept in two layers too). */
  readonly base?: string;
}

/** How a totals state is read; undefined when an increment's base is gone. */
async function stateRelation(
  state: TotalsState,
  view: PlannedView,
  dialect: Dialect,
): Promise<StateRelations | undefined> {
  const read = (file: string) => `read_parquet(${quoteLiteral(file)})`;
  const keyIds = keyIdRowsOf(totalsLayout(view).keys, dialect, read(state.file));
  if (!state.base) return { relation: totalsRowsOf(read(state.file)), keyIds };
  if (!(await stat(state.base).catch(() => undefined))) return undefined;
  return {
    relation: renderLayeredTotals(read(state.base), read(state.file)),
    keyIds,
    base: state.base,
  };
}

type PreviousTotals =
  | { readonly reason: string }
  | {
      readonly state: TotalsState;
      readonly relation: string;
      /** Stored files the state does not cover. */
      readonly newFiles: readonly string[];
    };

/**
 * The newest totals of the same spec, if an increment can extend them: they record the stored
 * files they cover, and every one of those is still stored, unchanged. Otherwise why not.
 */
async function previousTotals(
  connection: DuckDBConnection,
  dir: string,
  spec: string,
  stored: ReadonlyMap<string, string>,
  view: PlannedView,
  dialect: Dialect,
): Promise<PreviousTotals> {
  const builds = await totalsFiles(dir);
  const candidates = await newestFirst(
    builds.filter((name) => name.startsWith(`${spec}-`)),
    dir,
  );
  const [newest] = candidates;
  if (!newest)
    return {
      reason:
        builds.length > 0
          ? 'the view definition changed since the last build'
          : 'no running totals yet',
    };
  let damage = '';
  const state = await readTotalsState(connection, newest).catch((error: unknown) => {
    damage = firstLine(error);
    return undefined;
  });
  if (!state) return { reason: `the last totals are damaged (${damage})` };
  if (!state.covered) return { reason: 'the last totals are of an older format' };
  const relations = await stateRelation(state, view, dialect);
  if (!relations) return { reason: 'the base of the last totals is missing' };
  if (!state.covered.every((line) => stored.has(line)))
    return { reason: 'stored files were rewritten or removed since the last build' };
  const known = new Set(state.covered);
  const newFiles = [...stored].filter(([line]) => !known.has(line)).map(([, file]) => file);
  return { state, relation: relations.relation, newFiles };
}

/** Names of totals files (not temporaries) in `dir`. */
async function totalsFiles(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.filter((name) => name.endsWith('.parquet'));
}

async function newestFirst(names: readonly string[], dir: string): Promise<string[]> {
  const dated = await Promise.all(
    names.map(async (name) => {
      const file = path.join(dir, name);
      return { file, mtime: (await stat(file).catch(() => undefined))?.mtimeMs ?? 0 };
    }),
  );
  return dated.sort((a, b) => b.mtime - a.mtime).map((d) => d.file);
}

/**
 * Keeps a full build as the base of increments: a second name in `bases/` (a hard link, so
 * readers of the old name are undisturbed and nothing is copied). Returns the base's path.
 */
async function linkAsBase(file: string): Promise<string> {
  const bases = basesDir(path.dirname(file));
  await mkdir(bases, { recursive: true });
  const base = path.join(bases, path.basename(file));
  await link(file, base).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  });
  return base;
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

/**
 * Bases of this spec no remaining totals file names. A base linked by a concurrent build after
 * ours began (its inode changed then) stays; one left over by it is removed by a later build.
 */
async function removeUnusedBases(
  connection: DuckDBConnection,
  dir: string,
  spec: string,
  started: number,
): Promise<void> {
  const bases = basesDir(dir);
  const names = (await readdir(bases).catch(() => [] as string[])).filter((name) =>
    name.startsWith(`${spec}-`),
  );
  if (names.length === 0) return;
  const used = new Set<string>();
  for (const name of (await totalsFiles(dir)).filter((n) => n.startsWith(`${spec}-`))) {
    const state = await readTotalsState(connection, path.join(dir, name)).catch(() => undefined);
    if (!state) return; // unreadable: keep every base rather than guess
    if (state.base) used.add(path.basename(state.base));
  }
  await Promise.all(
    names
      .filter((name) => !used.has(name))
      .map(async (name) => {
        const file = path.join(bases, name);
        const changed = await stat(file).catch(() => undefined);
        if (changed && changed.ctimeMs < started) await rm(file, { force: true });
      }),
  );
}
