/**
 * npm run bench:on-demand — what on-demand transforms cost a local training set (issue 18 §3):
 * `fstore`'s getTrainingSet of `checkout_on_demand` (a profile view's 3 features and the
 * on-demand view `basket_ratio`, computed by a DuckDB scalar function that runs the lookup's own
 * runTransform, lib/offline/on-demand-columns.ts) against the same training set of
 * `checkout_plain` (the 3 features alone), same store, same entity file, each run in its own
 * process (bench/on-demand-training-run.ts), interleaved `--runs N` pairs (default 3).
 * The transform's throughput is the entity rows over the difference of the medians (wall, and
 * CPU); the ratio of medians is printed too. Then every stored feature of the two outputs is
 * compared row by row, and a sample of rows (BENCH_CHECK_ROWS, 10,000) is checked against
 * runTransform called directly, bit for bit.
 *
 * Sizes: BENCH_ENTITY_ROWS (1,000,000; `--quick` 100,000) entity rows over BENCH_ENTITIES
 * (100,000) customers, BENCH_FEATURE_ROWS (1,000,000) profile rows over a year, ingested once
 * with ingestFile into a store kept under BENCH_DIR (default <tmp>/fstore-bench-on-demand-<sizes>).
 * The last line is one JSON object with the figures.
 */
import { execFile } from 'node:child_process';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { openDuckdb, queryRows } from '../lib/offline/duckdb-session.ts';
import { ingestFile } from '../lib/offline/ingest.ts';
import { runTransform, type TransformValue } from '../lib/on-demand/transform-values.ts';
import {
  describeInterleave,
  interleave,
  interleaveJson,
  median,
  runsOption,
} from './interleave.ts';
import {
  basketRatio,
  onDemandBenchRegistry,
  onDemandService,
  plainService,
  profileSource,
} from './on-demand-training-fixture.ts';

const quick = process.argv.includes('--quick');
const entityRows = Number(process.env.BENCH_ENTITY_ROWS ?? (quick ? 100_000 : 1_000_000));
const entities = Number(process.env.BENCH_ENTITIES ?? 100_000);
const featureRows = Number(process.env.BENCH_FEATURE_ROWS ?? 1_000_000);
const checkRows = Number(process.env.BENCH_CHECK_ROWS ?? 10_000);
const runs = runsOption(3);
const dir =
  process.env.BENCH_DIR ??
  path.join(os.tmpdir(), `fstore-bench-on-demand-${featureRows}-${entities}`);
const runner = fileURLToPath(new URL('./on-demand-training-run.ts', import.meta.url));
const tsx = fileURLToPath(new URL('../node_modules/tsx/dist/cli.mjs', import.meta.url));
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

const dataDir = path.join(dir, 'store');
const entityFile = path.join(dir, `entities-${entityRows}.parquet`);
const outDir = path.join(dir, 'out');
await mkdir(outDir, { recursive: true });
console.log(
  `bench:on-demand: ${entityRows.toLocaleString('en')} entity rows, ${featureRows.toLocaleString('en')} profile rows, ${entities.toLocaleString('en')} customers; ${runs} interleaved pairs; store ${dir}; load ${load()}`,
);
await prepareStore();

interface Run {
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly peakRssMb: number;
  readonly rows: number;
  readonly out: string;
}

const timed = await interleave({
  runs,
  ours: (pair) => timedRun(onDemandService, pair),
  baseline: (pair) => timedRun(plainService, pair),
  value: (r) => r.seconds,
  onPair: (p) =>
    console.log(
      `  pair ${p.pair}: with the on-demand view ${p.ours.seconds.toFixed(2)} s (CPU ${p.ours.cpuSeconds.toFixed(2)} s, ${p.ours.peakRssMb} MB), without ${p.baseline.seconds.toFixed(2)} s (CPU ${p.baseline.cpuSeconds.toFixed(2)} s, ${p.baseline.peakRssMb} MB); load ${load()}`,
    ),
});
for (const line of describeInterleave(timed, 's')) console.log(line);
const cpuOurs = median(timed.pairs.map((p) => p.ours.cpuSeconds));
const cpuBase = median(timed.pairs.map((p) => p.baseline.cpuSeconds));
const rssOurs = median(timed.pairs.map((p) => p.ours.peakRssMb));
const rssBase = median(timed.pairs.map((p) => p.baseline.peakRssMb));
const transformSeconds = timed.oursMedian - timed.baselineMedian;
const transformCpuSeconds = cpuOurs - cpuBase;
const rowsPerSecond = entityRows / transformSeconds;
const rowsPerCpuSecond = entityRows / transformCpuSeconds;
console.log(
  `transform part: ${transformSeconds.toFixed(2)} s wall (${Math.round(rowsPerSecond).toLocaleString('en')} rows/s), ${transformCpuSeconds.toFixed(2)} s CPU (${Math.round(rowsPerCpuSecond).toLocaleString('en')} rows per CPU second); CPU ${cpuOurs.toFixed(2)} vs ${cpuBase.toFixed(2)} s (ratio ${(cpuOurs / cpuBase).toFixed(2)}); peak RSS ${rssOurs} vs ${rssBase} MB`,
);

const check = await checkOutputs(timed.oursMedianRun.out, timed.baselineMedianRun.out);
console.log(
  `checks: ${check.storedMismatches} rows whose stored features differ between the two outputs (of ${check.rows.toLocaleString('en')}); ${check.transformMismatches} of ${check.sampled.toLocaleString('en')} sampled rows differ from runTransform called directly`,
);
for (const run of timed.pairs.flatMap((p) => [p.ours, p.baseline]))
  await rm(run.out, { force: true });
if (check.storedMismatches > 0 || check.transformMismatches > 0 || check.rows !== entityRows)
  process.exitCode = 1;

console.log(
  JSON.stringify({
    bench: 'on-demand',
    entity_rows: entityRows,
    feature_rows: featureRows,
    entities,
    ...interleaveJson(timed),
    transform_seconds: Number(transformSeconds.toFixed(3)),
    transform_rows_per_second: Math.round(rowsPerSecond),
    transform_cpu_seconds: Number(transformCpuSeconds.toFixed(3)),
    transform_rows_per_cpu_second: Math.round(rowsPerCpuSecond),
    ours_cpu_seconds: Number(cpuOurs.toFixed(2)),
    baseline_cpu_seconds: Number(cpuBase.toFixed(2)),
    cpu_ratio: Number((cpuOurs / cpuBase).toFixed(3)),
    ours_peak_rss_mb: rssOurs,
    baseline_peak_rss_mb: rssBase,
    stored_mismatches: check.storedMismatches,
    sampled_rows: check.sampled,
    transform_mismatches: check.transformMismatches,
    load_average: os.loadavg().map((l) => Number(l.toFixed(1))),
  }),
);

async function timedRun(service: string, pair: number): Promise<Run> {
  const out = path.join(outDir, `${service}-${pair}.parquet`);
  await rm(out, { force: true });
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [tsx, runner, service, dataDir, entityFile, out],
    { maxBuffer: 1 << 20 },
  );
  const last = stdout.trim().split('\n').at(-1) ?? '';
  const figures = JSON.parse(last) as Omit<Run, 'out'>;
  if (figures.rows !== entityRows)
    throw new Error(`${service}: ${figures.rows} rows, expected ${entityRows}`);
  return { ...figures, out };
}

/** The profile source's rows and the entity file, written once (seeded) and kept in `dir`. */
async function prepareStore(): Promise<void> {
  const session = await openDuckdb();
  const { connection } = session;
  const done = path.join(dir, 'ingested');
  const customer = `'C' || lpad(CAST(CAST(floor(random() * ${entities}) AS BIGINT) AS VARCHAR), 6, '0')`;
  const inYear = `TIMESTAMP '2025-01-01 00:00:00' + to_microseconds(CAST(floor(random() * 365 * 86400e6) AS BIGINT))`;
  if (!(await exists(done))) {
    const started = performance.now();
    await rm(dataDir, { recursive: true, force: true });
    const input = path.join(dir, 'profiles.parquet');
    await connection.run('SELECT setseed(0.18)');
    // 5 % of monthly charges are NULL and 1 % are 0, so the transform's null branch runs too.
    await connection.run(`
      COPY (
        SELECT ${customer} AS customer_id,
               CASE WHEN r < 0.05 THEN NULL WHEN r < 0.06 THEN 0 ELSE round(5 + random() * 195, 2) END AS monthly,
               CASE WHEN random() < 0.05 THEN NULL ELSE round(10 + random() * 90, 2) END AS avg_basket,
               (['basic', 'plus', 'premium'])[1 + CAST(floor(random() * 3) AS INTEGER)] AS plan,
               ${inYear} AS event_ts
        FROM (SELECT random() AS r FROM range(${featureRows}))
      ) TO '${input}' (FORMAT parquet)`);
    const ingest = await ingestFile({
      registry: onDemandBenchRegistry,
      dataDir,
      env: 'local',
      source: profileSource,
      file: input,
    });
    await writeFile(done, `${JSON.stringify(ingest)}\n`);
    console.log(
      `store: ${featureRows.toLocaleString('en')} profile rows ingested in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  }
  if (!(await exists(entityFile))) {
    await connection.run('SELECT setseed(0.81)');
    const partial = `${entityFile}.partial`;
    await connection.run(`
      COPY (
        SELECT ${customer} AS customer_id, ${inYear} AS event_timestamp,
               round(random() * 300, 2) AS basket_amount, CAST(random() < 0.1 AS INTEGER) AS label
        FROM range(${entityRows})
      ) TO '${partial}' (FORMAT parquet)`);
    await rm(entityFile, { force: true });
    await rename(partial, entityFile);
  }
  session.close();
}

/**
 * Compares the two outputs row by row (entity-file order) on every stored feature, and checks a
 * sample of the on-demand output's rows against runTransform called directly, bit for bit.
 */
async function checkOutputs(onDemandOut: string, plainOut: string) {
  const { connection, close } = await openDuckdb();
  const read = (file: string) => `read_parquet('${file}', file_row_number = true)`;
  const [counts] = await queryRows(
    connection,
    `SELECT count(*) AS rows,
            count(*) FILTER (WHERE a.customer_id IS DISTINCT FROM b.customer_id
              OR a.event_timestamp IS DISTINCT FROM b.event_timestamp
              OR a.monthly IS DISTINCT FROM b.monthly OR a.avg_basket IS DISTINCT FROM b.avg_basket
              OR a.plan IS DISTINCT FROM b.plan) AS mismatches
     FROM ${read(onDemandOut)} a FULL JOIN ${read(plainOut)} b USING (file_row_number)`,
  );
  const sample = await queryRows(
    connection,
    `SELECT basket_amount, monthly, avg_basket, basket_to_monthly, big_basket
     FROM ${read(onDemandOut)} USING SAMPLE ${checkRows} ROWS (reservoir, 42)`,
  );
  close();
  let transformMismatches = 0;
  const outputs = onDemandBenchRegistry.onDemandViews?.find(
    (v) => v.name === basketRatio.name,
  )?.features;
  if (!outputs) throw new Error('basket_ratio is not in the registry');
  for (const row of sample) {
    const expected = runTransform(
      basketRatio.transform,
      {
        basket_amount: row.basket_amount as TransformValue,
        monthly: row.monthly as TransformValue,
        avg_basket: row.avg_basket as TransformValue,
      },
      outputs,
    );
    if (
      !Object.is(expected.basket_to_monthly, row.basket_to_monthly) ||
      !Object.is(expected.big_basket, row.big_basket)
    ) {
      transformMismatches += 1;
      if (transformMismatches <= 3)
        console.log(
          `  mismatch: ${JSON.stringify(row)} vs runTransform ${JSON.stringify(expected)}`,
        );
    }
  }
  return {
    rows: Number(counts?.rows),
    storedMismatches: Number(counts?.mismatches),
    sampled: sample.length,
    transformMismatches,
  };
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}
