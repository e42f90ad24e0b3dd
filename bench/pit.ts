/**
 * npm run bench:pit — two parts, on the same sizes:
 *
 * SQL only: fstore's point-in-time SQL on DuckDB against DuckDB's native ASOF JOIN, on the same
 * Parquet data in the same run, for a 1-view and a 3-view request. Ours and ASOF run
 * interleaved, `--runs N` pairs (BENCH_RUNS, default 5; bench/interleave.ts), medians kept; the
 * merge-window SQL Athena runs is timed once.
 *
 * End to end (bench/pit-e2e.ts): after one `fstore ingest` per source into a store
 * (bench/pit-store.ts; files written per ingest reported), `fstore training-set` as a user runs
 * it, process start → file, interleaved with DuckDB's ASOF join and Feast's range-join SQL on
 * the same rows in Parquet (each in its own plain-Node process), 1 and 3 views; then the
 * 10-row request against the same store, interleaved with `fstore --version` (start-up); last, a
 * read as of a snapshot against the latest data (bench/pit-snapshot.ts).
 *
 * Checks that all give the same values, prints every sample, medians, ratios, CPU and peak RSS;
 * the last lines are the JSON summaries. `--only sql` or `--only e2e` runs one part, `--only
 * small` only the 10-row request and `--only snapshot` only the read as of a snapshot (both on
 * the end-to-end store);
 * `--feast-runs N` times Feast's SQL (the slowest) in the first N end-to-end pairs only.
 *
 * Sizes: BENCH_ENTITY_ROWS (1,000,000), BENCH_FEATURE_ROWS (10,000,000), BENCH_ENTITIES
 * (100,000); `--quick` divides the defaults by 10 (100,000 × 1,000,000, 10,000 keys).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDuckdb, queryRows } from '../lib/offline/duckdb-session.ts';
import { describeInterleave, interleave, interleaveJson, runsOption } from './interleave.ts';
import { writePitBenchData } from './pit-data.ts';
import { endToEndCase, smallRequest } from './pit-e2e.ts';
import { snapshotRead } from './pit-snapshot.ts';
import { pitCases, preparePitStore } from './pit-store.ts';

const argv = process.argv.slice(2);
const scale = argv.includes('--quick') ? 10 : 1;
const only = argv[argv.indexOf('--only') + 1];
const parts = ['sql', 'e2e', 'small', 'snapshot'];
if (argv.includes('--only') && !parts.includes(only ?? ''))
  throw new Error(`--only takes ${parts.join(', ')}, got ${JSON.stringify(only)}`);
const sizes = {
  entityRows: Number(process.env.BENCH_ENTITY_ROWS ?? 1_000_000 / scale),
  featureRows: Number(process.env.BENCH_FEATURE_ROWS ?? 10_000_000 / scale),
  entities: Number(process.env.BENCH_ENTITIES ?? 100_000 / scale),
};
const root =
  process.env.BENCH_DIR ??
  path.join(
    tmpdir(),
    `fstore-bench-pit-${sizes.entityRows}-${sizes.featureRows}-${sizes.entities}`,
  );
const runs = runsOption(5);
const feastRunsArg = argv.includes('--feast-runs')
  ? argv[argv.indexOf('--feast-runs') + 1]
  : undefined;
const feastRuns = feastRunsArg === undefined ? runs : Number(feastRunsArg);
if (!Number.isInteger(feastRuns) || feastRuns < 1)
  throw new Error(`--feast-runs takes a whole number ≥ 1, got ${JSON.stringify(feastRunsArg)}`);
const runner = fileURLToPath(new URL('./pit-run.ts', import.meta.url));
const tsx = fileURLToPath(new URL('../node_modules/tsx/dist/cli.mjs', import.meta.url));

interface Run {
  seconds: number;
  peakRssMb: number;
  rows: number;
}

function run(
  mode: 'ours' | 'ours-merge-window' | 'asof',
  views: number,
  dir: string,
  out: string,
): Run {
  const output = execFileSync(process.execPath, [tsx, runner, mode, String(views), dir, out], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  return JSON.parse(output.trim().split('\n').at(-1) ?? '{}') as Run;
}

async function sizeMb(dir: string): Promise<number> {
  const text = execFileSync('du', ['-sm', dir], { encoding: 'utf8' });
  return Number(text.split('\t')[0]);
}

const summaries: string[] = [];
for (const views of only === undefined || only === 'sql' ? [3, 1] : []) {
  const dir = path.join(root, `views-${views}`);
  await mkdir(dir, { recursive: true });
  const session = await openDuckdb();
  const started = performance.now();
  await writePitBenchData(
    session.connection,
    dir,
    sizes,
    Array.from({ length: views }, (_, i) => `src_${i}`),
  );
  console.log(
    `[${views} view(s)] data ready in ${((performance.now() - started) / 1000).toFixed(1)} s: ${sizes.entityRows.toLocaleString('en-US')} entity rows, ${sizes.featureRows.toLocaleString('en-US')} feature rows over ${views} source(s), ${sizes.entities.toLocaleString('en-US')} keys, ${await sizeMb(dir)} MB on disk`,
  );

  const oursOut = path.join(dir, 'ours.parquet');
  const asofOut = path.join(dir, 'asof.parquet');
  const windowOut = path.join(dir, 'ours-merge-window.parquet');
  const timed = await interleave({
    runs,
    ours: () => run('ours', views, dir, oursOut),
    baseline: () => run('asof', views, dir, asofOut),
    value: (r) => r.seconds,
    onPair: (p) =>
      process.stderr.write(
        `[${views} view(s)] pair ${p.pair}/${runs}: ours ${p.oursValue.toFixed(2)} s, ASOF ${p.baselineValue.toFixed(2)} s, ratio ${p.ratio.toFixed(2)}\n`,
      ),
  });
  const ours = timed.oursMedianRun;
  const asof = timed.baselineMedianRun;
  const oursPeakRssMb = Math.max(...timed.pairs.map((p) => p.ours.peakRssMb));
  const asofPeakRssMb = Math.max(...timed.pairs.map((p) => p.baseline.peakRssMb));
  const merge = run('ours-merge-window', views, dir, windowOut);
  const columns = Array.from({ length: views }, (_, i) => [`v${i}__value`, `v${i}__bucket`]).flat();
  const differences = async (file: string) =>
    Number(
      (
        await queryRows(
          session.connection,
          `SELECT count(*) AS n FROM (SELECT row_number() OVER () AS r, * FROM read_parquet('${file}')) o
           FULL JOIN (SELECT row_number() OVER () AS r, * FROM read_parquet('${asofOut}')) a ON o.r = a.r
           WHERE o.r IS NULL OR a.r IS NULL OR o.customer_id <> a.customer_id OR o.event_timestamp <> a.event_timestamp OR ${columns.map((c) => `o.${c} IS DISTINCT FROM a.${c}`).join(' OR ')}`,
        )
      )[0]?.n,
    );
  const mismatches = (await differences(oursOut)) + (await differences(windowOut));
  const matched = Number(
    (
      await queryRows(
        session.connection,
        `SELECT count(v0__value) AS n FROM read_parquet('${oursOut}')`,
      )
    )[0]?.n,
  );
  session.close();
  const ratio = timed.ratioOfMedians;
  console.log(`[${views} view(s)] ours vs DuckDB ASOF JOIN, seconds:`);
  for (const line of describeInterleave(timed, 's')) console.log(line);
  console.log(
    `[${views} view(s)] ours ${timed.oursMedian.toFixed(2)} s (peak RSS ${oursPeakRssMb} MB) | DuckDB ASOF JOIN ${timed.baselineMedian.toFixed(2)} s (peak RSS ${asofPeakRssMb} MB) | ratio ours/ASOF ${ratio.toFixed(2)} (median of pair ratios ${timed.medianPairRatio.toFixed(2)})`,
  );
  console.log(
    `[${views} view(s)] ours with the merge-window SQL Athena runs: ${merge.seconds.toFixed(2)} s once (peak RSS ${merge.peakRssMb} MB), ratio to the ASOF median ${(merge.seconds / timed.baselineMedian).toFixed(2)}`,
  );
  console.log(
    `[${views} view(s)] rows out ${ours.rows.toLocaleString('en-US')} (ASOF ${asof.rows.toLocaleString('en-US')}), v0 matched ${matched.toLocaleString('en-US')}, value mismatches ${mismatches}`,
  );
  const rowCounts = timed.pairs.flatMap((p) => [p.ours.rows, p.baseline.rows]);
  if (
    mismatches !== 0 ||
    rowCounts.some((n) => n !== sizes.entityRows) ||
    merge.rows !== sizes.entityRows
  ) {
    console.error('FAIL: results differ from the ASOF baseline');
    process.exitCode = 1;
  }
  summaries.push(
    JSON.stringify({
      bench: 'pit',
      views,
      entity_rows: sizes.entityRows,
      feature_rows: sizes.featureRows,
      entities: sizes.entities,
      ours_s: Number(timed.oursMedian.toFixed(2)),
      baseline_s: Number(timed.baselineMedian.toFixed(2)),
      ratio: Number(ratio.toFixed(2)),
      ...interleaveJson(timed),
      peak_rss_mb: oursPeakRssMb,
      merge_window_s: Number(merge.seconds.toFixed(2)),
      merge_window_ratio: Number((merge.seconds / timed.baselineMedian).toFixed(2)),
      baseline_peak_rss_mb: asofPeakRssMb,
      mismatches,
    }),
  );
  await rm(oursOut, { force: true });
  await rm(windowOut, { force: true });
  await rm(asofOut, { force: true });
}
if (only !== 'sql') {
  const storeDir = path.join(root, 'store');
  const session = await openDuckdb();
  const started = performance.now();
  const store = await preparePitStore(session.connection, storeDir, sizes, (line) =>
    console.log(`[store] ${line}`),
  );
  const ingests = Object.entries(store.ingests);
  console.log(
    `[store] ready in ${((performance.now() - started) / 1000).toFixed(1)} s (${await sizeMb(store.dataDir)} MB); files written per ingest: ${ingests.map(([source, i]) => `${source} ${i.files} files in ${i.partitions} partitions (${i.seconds.toFixed(1)} s)`).join(', ')}`,
  );
  for (const pitCase of only === 'snapshot' || only === 'small' ? [] : pitCases) {
    const result = await endToEndCase(
      session.connection,
      store,
      pitCase,
      storeDir,
      runs,
      (line) => process.stderr.write(`${line}\n`),
      feastRuns,
    );
    for (const line of result.lines) console.log(line);
    if (result.mismatches !== 0 || result.rows !== sizes.entityRows) {
      console.error('FAIL: end-to-end results differ from the ASOF baseline');
      process.exitCode = 1;
    }
    summaries.push(
      JSON.stringify({
        ...result.json,
        entity_rows: sizes.entityRows,
        feature_rows: sizes.featureRows,
        entities: sizes.entities,
        files_per_ingest: Object.fromEntries(
          pitCase.sources.map((source) => [source, store.ingests[source]?.files]),
        ),
      }),
    );
  }
  if (only !== 'snapshot') {
    const small = await smallRequest(store, storeDir, runs, (line) =>
      process.stderr.write(`${line}\n`),
    );
    for (const line of small.lines) console.log(line);
    summaries.push(JSON.stringify({ ...small.json, feature_rows: sizes.featureRows }));
  }
  // Last: its extra ingest changes the store the cases above read.
  if (only !== 'small') {
    const snapshot = await snapshotRead(session.connection, store, storeDir, runs, (line) =>
      process.stderr.write(`${line}\n`),
    );
    for (const line of snapshot.lines) console.log(line);
    if (snapshot.mismatches !== 0) {
      console.error(
        'FAIL: the read as of the snapshot differs from the read before the later ingest',
      );
      process.exitCode = 1;
    }
    summaries.push(JSON.stringify({ ...snapshot.json, feature_rows: sizes.featureRows }));
  }
  session.close();
}
if (process.env.BENCH_KEEP_DATA !== '1' && (await stat(root).catch(() => undefined)))
  await rm(root, { recursive: true, force: true });
for (const line of summaries) console.log(line);
