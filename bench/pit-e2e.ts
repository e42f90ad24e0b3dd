/**
 * bench:pit end to end: each sample is one process, from its start until the result file is
 * written, timed from outside with GNU time (wall seconds, CPU seconds, the process's peak
 * RSS). `fstore training-set` runs against the store built by one `fstore ingest` per source
 * (bench/pit-store.ts); DuckDB's ASOF join and Feast's whole point-in-time template (bench/pit-baseline-run.mjs) run in plain Node
 * (bench/pit-baseline-run.mjs) on the same rows in the ingest's input Parquet files.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DuckDBConnection } from '@duckdb/node-api';
import { buildCliBundle, freshCliBundle } from '../bin/cli-bundle.mjs';
import { queryRows } from '../lib/offline/duckdb-session.ts';
import { quoteLiteral } from '../lib/sql/dialect.ts';
import {
  describeInterleave,
  type InterleaveResult,
  interleave,
  interleaveJson,
  median,
} from './interleave.ts';
import {
  cliEntry,
  featureRefs,
  type PitCase,
  type PitStore,
  SMALL_REQUEST_ROWS,
} from './pit-store.ts';

const gnuTime = '/usr/bin/time';
const baselineRunner = fileURLToPath(new URL('./pit-baseline-run.mjs', import.meta.url));
const ttlSeconds = 30 * 86_400;

/** One process, start to exit. */
export interface ProcessRun {
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly peakRssMb: number;
}

export function timeProcess(args: readonly string[], cwd: string): ProcessRun {
  if (!existsSync(gnuTime))
    throw new Error(
      `bench:pit times processes with GNU time, and ${gnuTime} is missing (apt-get install time)`,
    );
  const report = path.join(cwd, `.time-${process.pid}`);
  try {
    execFileSync(gnuTime, ['-o', report, '-f', '%e %U %S %M', process.execPath, ...args], {
      cwd,
      stdio: ['ignore', 'ignore', 'pipe'],
      maxBuffer: 16 << 20,
    });
    const [wall, user, system, rssKb] =
      readFileSync(report, 'utf8').trim().split('\n').at(-1)?.split(' ').map(Number) ?? [];
    return {
      seconds: wall ?? Number.NaN,
      cpuSeconds: (user ?? 0) + (system ?? 0),
      peakRssMb: Math.round((rssKb ?? 0) / 1024),
    };
  } finally {
    rmSync(report, { force: true });
  }
}

/**
 * `fstore` as users run it, from its bundle: a source edited since the last build (other work
 * in the tree) would make the CLI fall back to its TypeScript sources and time tsx instead.
 */
export async function timeCli(args: readonly string[], cwd: string): Promise<ProcessRun> {
  if (!freshCliBundle().dir) await buildCliBundle();
  return timeProcess(args, cwd);
}

export function trainingSetArgs(
  store: PitStore,
  pitCase: PitCase,
  entities: string,
  out: string,
): string[] {
  return [
    cliEntry,
    '--defs',
    store.defs,
    '--data-dir',
    store.dataDir,
    'training-set',
    '--features',
    ...featureRefs(pitCase),
    '--entities',
    entities,
    '--out',
    out,
    '--full-feature-names',
  ];
}

function baselineArgs(
  mode: 'asof' | 'feast',
  store: PitStore,
  pitCase: PitCase,
  out: string,
): string[] {
  return [
    baselineRunner,
    mode,
    out,
    store.entities,
    String(ttlSeconds),
    ...pitCase.sources.map((s) => `${s}_view=${store.inputs[s]}`),
  ];
}

export const peak = (runs: readonly ProcessRun[]) => Math.max(...runs.map((r) => r.peakRssMb));
export const cpu = (runs: readonly ProcessRun[]) => median(runs.map((r) => r.cpuSeconds));

/** Rows of `file` that differ from `reference` (same position), and the row counts. */
export async function differences(connection: DuckDBConnection, file: string, reference: string) {
  const numbered = (f: string) =>
    `(SELECT row_number() OVER () AS r, * FROM read_parquet(${quoteLiteral(f)}))`;
  const columns = (
    await queryRows(connection, `DESCRIBE SELECT * FROM read_parquet(${quoteLiteral(reference)})`)
  ).map((c) => String(c.column_name));
  const rows = await queryRows(
    connection,
    `SELECT count(*) AS n FROM ${numbered(file)} o FULL JOIN ${numbered(reference)} a ON o.r = a.r
     WHERE o.r IS NULL OR a.r IS NULL OR ${columns.map((c) => `o."${c}" IS DISTINCT FROM a."${c}"`).join(' OR ')}`,
  );
  return Number(rows[0]?.n);
}

export interface EndToEndCase {
  readonly lines: string[];
  readonly json: Record<string, unknown>;
  readonly mismatches: number;
  readonly rows: number;
}

/**
 * The training set of `pitCase` in three processes each pair: ours, ASOF, and in the first
 * `feastPairs` pairs (all by default, at least one: its result is checked too) Feast's SQL, the
 * slowest of the three.
 */
export async function endToEndCase(
  connection: DuckDBConnection,
  store: PitStore,
  pitCase: PitCase,
  workDir: string,
  runs: number,
  log: (line: string) => void,
  feastPairs = runs,
): Promise<EndToEndCase> {
  const label = `[end to end, ${pitCase.views} view(s)]`;
  const out = (name: string) => path.join(workDir, `${name}-${pitCase.views}.parquet`);
  const feastRuns: ProcessRun[] = [];
  const timed = await interleave({
    runs,
    ours: () => timeCli(trainingSetArgs(store, pitCase, store.entities, out('ours')), workDir),
    baseline: () => {
      const asof = timeProcess(baselineArgs('asof', store, pitCase, out('asof')), workDir);
      if (feastRuns.length < Math.max(1, feastPairs))
        feastRuns.push(timeProcess(baselineArgs('feast', store, pitCase, out('feast')), workDir));
      return asof;
    },
    value: (r) => r.seconds,
    onPair: (p) =>
      log(
        `${label} pair ${p.pair}/${runs}: fstore ${p.oursValue.toFixed(2)} s, ASOF ${p.baselineValue.toFixed(2)} s (ratio ${p.ratio.toFixed(2)})${p.pair <= Math.max(1, feastPairs) ? `, Feast SQL ${feastRuns.at(-1)?.seconds.toFixed(2)} s` : ''}`,
      ),
  });
  const feastMedian = median(feastRuns.map((r) => r.seconds));
  const oursRuns = timed.pairs.map((p) => p.ours);
  const asofRuns = timed.pairs.map((p) => p.baseline);
  const mismatches =
    (await differences(connection, out('ours'), out('asof'))) +
    (await differences(connection, out('feast'), out('asof')));
  const rows = Number(
    (
      await queryRows(
        connection,
        `SELECT count(*) AS n FROM read_parquet(${quoteLiteral(out('ours'))})`,
      )
    )[0]?.n,
  );
  for (const name of ['ours', 'asof', 'feast']) rmSync(out(name), { force: true });
  const lines = [
    `${label} fstore training-set (CLI) vs DuckDB ASOF JOIN (plain Node), process start → file, seconds:`,
    ...describeInterleave(timed, 's'),
    `${label} fstore ${timed.oursMedian.toFixed(2)} s (CPU ${cpu(oursRuns).toFixed(2)} s, peak RSS ${peak(oursRuns)} MB) | ASOF ${timed.baselineMedian.toFixed(2)} s (CPU ${cpu(asofRuns).toFixed(2)} s, peak RSS ${peak(asofRuns)} MB) | Feast SQL ${feastMedian.toFixed(2)} s (CPU ${cpu(feastRuns).toFixed(2)} s, peak RSS ${peak(feastRuns)} MB)`,
    `${label} ratios: fstore/ASOF ${timed.ratioOfMedians.toFixed(2)} (median pair ${timed.medianPairRatio.toFixed(2)}), Feast/fstore ${(feastMedian / timed.oursMedian).toFixed(2)}x, RSS fstore/ASOF ${(peak(oursRuns) / peak(asofRuns)).toFixed(2)}; rows ${rows.toLocaleString('en-US')}, mismatches ${mismatches}`,
  ];
  return {
    lines,
    mismatches,
    rows,
    json: {
      bench: 'pit-end-to-end',
      views: pitCase.views,
      ...interleaveJson(timed),
      ours_cpu_s: round(cpu(oursRuns)),
      baseline_cpu_s: round(cpu(asofRuns)),
      feast_s: round(feastMedian),
      feast_samples: feastRuns.map((r) => round(r.seconds)),
      feast_over_ours: round(feastMedian / timed.oursMedian),
      peak_rss_mb: peak(oursRuns),
      baseline_peak_rss_mb: peak(asofRuns),
      feast_peak_rss_mb: peak(feastRuns),
      rows,
      mismatches,
    },
  };
}

/** The small request against the same store, interleaved with `fstore --version` (start-up). */
export async function smallRequest(
  store: PitStore,
  workDir: string,
  runs: number,
  log: (line: string) => void,
) {
  const pitCase: PitCase = { views: 1, sources: ['one_0'] };
  const out = path.join(workDir, 'small.parquet');
  const timed: InterleaveResult<ProcessRun> = await interleave({
    runs,
    ours: () => timeCli(trainingSetArgs(store, pitCase, store.smallEntities, out), workDir),
    baseline: () => timeCli([cliEntry, '--version'], workDir),
    value: (r) => r.seconds,
    onPair: (p) =>
      log(
        `[${SMALL_REQUEST_ROWS} entity rows] pair ${p.pair}/${runs}: training set ${p.oursValue.toFixed(2)} s, fstore --version (start-up) ${p.baselineValue.toFixed(2)} s, after start-up ${(p.oursValue - p.baselineValue).toFixed(2)} s`,
      ),
  });
  rmSync(out, { force: true });
  const ours = timed.pairs.map((p) => p.ours);
  const startUp = timed.pairs.map((p) => p.baseline);
  const after = median(timed.pairs.map((p) => p.oursValue - p.baselineValue));
  const afterCpu = median(timed.pairs.map((p) => p.ours.cpuSeconds - p.baseline.cpuSeconds));
  return {
    lines: [
      `[${SMALL_REQUEST_ROWS} entity rows, 1 view] fstore training-set vs fstore --version (the CLI's start-up), seconds:`,
      ...describeInterleave(timed, 's'),
      `[${SMALL_REQUEST_ROWS} entity rows, 1 view] training set ${timed.oursMedian.toFixed(2)} s (CPU ${cpu(ours).toFixed(2)} s, peak RSS ${peak(ours)} MB); start-up (fstore --version) ${timed.baselineMedian.toFixed(2)} s (CPU ${cpu(startUp).toFixed(2)} s, peak RSS ${peak(startUp)} MB)`,
      `[${SMALL_REQUEST_ROWS} entity rows, 1 view] after start-up (median of pair differences): ${after.toFixed(2)} s wall, ${afterCpu.toFixed(2)} s CPU (target ≤ 0.5 s: ${after <= 0.5 ? 'met' : 'not met'}); peak RSS ${peak(ours)} MB (target ≤ 300 MB: ${peak(ours) <= 300 ? 'met' : 'not met'})`,
    ],
    json: {
      bench: 'pit-small-request',
      entity_rows: SMALL_REQUEST_ROWS,
      ...interleaveJson(timed),
      after_start_up_s: round(after),
      after_start_up_cpu_s: round(afterCpu),
      ours_cpu_s: round(cpu(ours)),
      start_up_cpu_s: round(cpu(startUp)),
      peak_rss_mb: peak(ours),
      start_up_peak_rss_mb: peak(startUp),
    },
  };
}

export const round = (value: number) => Number(value.toFixed(3));
