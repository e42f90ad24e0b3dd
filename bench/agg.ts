/**
 * npm run bench:agg: windowed aggregates (sum, count, avg of amount over 7, 30 and 90 days)
 * for BENCH_ENTITY_ROWS (1,000,000) entity rows over BENCH_SOURCE_ROWS (10,000,000) source
 * rows of BENCH_ENTITIES (100,000) entities, a year of data (`--quick`: defaults divided by 5,
 * 200,000 entity rows over 2,000,000 rows of 20,000 entities): fstore's SQL against the
 * straightforward SQL (each entity row joined to its entity's rows of the widest window,
 * grouped) on DuckDB, same data, same run. fstore's training sets read running totals, built
 * once per change of the stored rows: the first run builds them (timed apart), then ours and
 * the baseline run interleaved, `--runs N` pairs (BENCH_RUNS, default 5; bench/interleave.ts),
 * medians kept. Checks every rendering agrees with the baseline, then prints every sample,
 * the medians, the ratio ours/baseline and peak RSS; the last line is one JSON object.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, rm, stat } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDuckdb, queryRows } from '../lib/offline/duckdb-session.ts';
import { runningTotalsDir } from '../lib/offline/running-totals.ts';
import { customerId, timeInYear, writeOrders } from './agg-data.ts';
import {
  describeInterleave,
  interleave,
  interleaveJson,
  median,
  runsOption,
} from './interleave.ts';

const scale = process.argv.includes('--quick') ? 5 : 1;
const sizes = {
  entityRows: Number(process.env.BENCH_ENTITY_ROWS ?? 1_000_000 / scale),
  sourceRows: Number(process.env.BENCH_SOURCE_ROWS ?? 10_000_000 / scale),
  entities: Number(process.env.BENCH_ENTITIES ?? 100_000 / scale),
};
const runs = runsOption(5);
const dir =
  process.env.BENCH_DIR ??
  path.join(tmpdir(), `fstore-bench-agg-${sizes.entityRows}-${sizes.sourceRows}-${sizes.entities}`);
const tsx = fileURLToPath(new URL('../node_modules/tsx/dist/cli.mjs', import.meta.url));
const runner = fileURLToPath(new URL('./agg-run.ts', import.meta.url));
const exists = async (file: string) => (await stat(file).catch(() => undefined)) !== undefined;

async function writeData(): Promise<void> {
  const session = await openDuckdb();
  const { connection } = session;
  try {
    await connection.run('SELECT setseed(0.17)');
    await writeOrders(connection, path.join(dir, 'offline', 'orders'), sizes);
    const entities = path.join(dir, 'entities.parquet');
    if (!(await exists(entities)))
      await connection.run(`
        COPY (
          SELECT ${customerId(`random() * ${sizes.entities}`)} AS customer_id,
                 ${timeInYear} AS event_timestamp,
                 CAST(i + 1 AS BIGINT) AS fstore_row_id
          FROM range(${sizes.entityRows}) t(i)
        ) TO '${entities}' (FORMAT parquet, COMPRESSION zstd)`);
  } finally {
    session.close();
  }
}

interface Run {
  seconds: number;
  cpuSeconds: number;
  buildSeconds: number;
  peakRssMb: number;
  rows: number;
}

function run(mode: 'ours' | 'ours-join' | 'ours-window' | 'baseline', out: string): Run {
  const output = execFileSync(process.execPath, [tsx, runner, mode, dir, out], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  return JSON.parse(output.trim().split('\n').at(-1) ?? '{}') as Run;
}

await mkdir(dir, { recursive: true });
const generating = performance.now();
await writeData();
process.stderr.write(
  `data ready in ${((performance.now() - generating) / 1000).toFixed(1)} s (${dir})\n`,
);
const out = (name: string) => path.join(dir, `${name}.parquet`);
const totalsDir = runningTotalsDir(path.join(dir, 'offline'), 'orders');
await rm(totalsDir, { recursive: true, force: true });

const loadBefore = loadavg()[0] ?? 0;
const cold = run('ours', out('ours-cold'));
process.stderr.write(
  `running totals built in ${cold.buildSeconds.toFixed(2)} s; ${runs} interleaved pairs ...\n`,
);
const timed = await interleave({
  runs,
  ours: () => run('ours', out('ours')),
  baseline: () => run('baseline', out('baseline')),
  value: (r) => r.seconds,
  onPair: (p) =>
    process.stderr.write(
      `pair ${p.pair}/${runs}: ours ${p.oursValue.toFixed(2)} s, baseline ${p.baselineValue.toFixed(2)} s, ratio ${p.ratio.toFixed(2)}\n`,
    ),
});
const loadAfter = loadavg()[0] ?? 0;
const ours = timed.oursMedianRun;
// CPU seconds (user + system, all threads) of the same runs: load slows wall time far more.
const oursCpu = median(timed.pairs.map((p) => p.ours.cpuSeconds));
const baselineCpu = median(timed.pairs.map((p) => p.baseline.cpuSeconds));
const baseline = timed.baselineMedianRun;
const join = run('ours-join', out('ours-join'));
const window = run('ours-window', out('ours-window'));

const session = await openDuckdb();
const features = [7, 30, 90].flatMap((w) =>
  ['sum', 'count', 'avg'].map((f) => `amount_${f}_${w}d`),
);
const mismatching = async (file: string) =>
  Number(
    (
      await queryRows(
        session.connection,
        `SELECT count(*) AS n FROM (SELECT row_number() OVER () AS r, * FROM read_parquet('${file}')) a
         JOIN (SELECT row_number() OVER () AS r, * FROM read_parquet('${out('baseline')}')) b USING (r)
         WHERE ${features.map((f) => `NOT (a.${f} IS NOT DISTINCT FROM b.${f} OR abs(a.${f} - b.${f}) < 1e-6)`).join(' OR ')}`,
      )
    )[0]?.n,
  );
let mismatches = 0;
for (const name of ['ours-cold', 'ours', 'ours-join', 'ours-window'])
  mismatches += await mismatching(out(name));
session.close();
const sizeMb = (file: string) =>
  Number(execFileSync('du', ['-sm', file], { encoding: 'utf8' }).split('\t')[0]);
const ratio = timed.ratioOfMedians;
const coldSeconds = cold.buildSeconds + cold.seconds;
const oursPeakRssMb = Math.max(...timed.pairs.map((p) => p.ours.peakRssMb));
const baselinePeakRssMb = Math.max(...timed.pairs.map((p) => p.baseline.peakRssMb));
const peakRssMb = Math.max(cold.peakRssMb, oursPeakRssMb);
console.log(
  `source rows ${sizes.sourceRows.toLocaleString('en-US')} (${sizeMb(path.join(dir, 'offline', 'orders'))} MB Parquet), entities ${sizes.entities.toLocaleString('en-US')}, entity rows ${sizes.entityRows.toLocaleString('en-US')}; features sum/count/avg × 7d/30d/90d`,
);
console.log(
  `running totals: built in ${cold.buildSeconds.toFixed(2)} s (once per change of the stored rows), ${sizeMb(totalsDir)} MB, peak RSS ${cold.peakRssMb} MB`,
);
console.log(
  `fstore, running totals ready:      ${timed.oursMedian.toFixed(2)} s (median of ${timed.oursValues.map((v) => v.toFixed(2)).join(', ')}), peak RSS ${oursPeakRssMb} MB, ${ours.rows} rows`,
);
console.log(`fstore, first run (build + query): ${coldSeconds.toFixed(2)} s`);
console.log(
  `fstore, range join (small sets):   ${join.seconds.toFixed(2)} s, peak RSS ${join.peakRssMb} MB`,
);
console.log(
  `fstore, Athena form on DuckDB:     ${window.seconds.toFixed(2)} s, peak RSS ${window.peakRssMb} MB`,
);
console.log(
  `straightforward join SQL:          ${timed.baselineMedian.toFixed(2)} s (median of ${timed.baselineValues.map((v) => v.toFixed(2)).join(', ')}), peak RSS ${baselinePeakRssMb} MB, ${baseline.rows} rows`,
);
for (const line of describeInterleave(timed, 's')) console.log(line);
console.log(
  `CPU seconds (user + system): ours ${timed.pairs.map((p) => p.ours.cpuSeconds.toFixed(2)).join(', ')}, baseline ${timed.pairs.map((p) => p.baseline.cpuSeconds.toFixed(2)).join(', ')}; medians ${oursCpu.toFixed(2)} vs ${baselineCpu.toFixed(2)}, ratio ${(oursCpu / baselineCpu).toFixed(2)}; load average ${loadBefore.toFixed(1)} before the runs, ${loadAfter.toFixed(1)} after`,
);
console.log(
  `ratio ours/baseline (of medians): ${ratio.toFixed(2)} (target ≤ 0.5), median of pair ratios ${timed.medianPairRatio.toFixed(2)}, first run ${(coldSeconds / timed.baselineMedian).toFixed(2)}; mismatching rows: ${mismatches}`,
);
const rowCounts = new Set(timed.pairs.flatMap((p) => [p.ours.rows, p.baseline.rows]));
if (mismatches > 0 || rowCounts.size !== 1) process.exitCode = 1;
console.log(
  JSON.stringify({
    bench: 'agg',
    source_rows: sizes.sourceRows,
    entity_rows: sizes.entityRows,
    entities: sizes.entities,
    ours_s: Number(timed.oursMedian.toFixed(3)),
    baseline_s: Number(timed.baselineMedian.toFixed(3)),
    ratio: Number(ratio.toFixed(3)),
    ours_cpu_s: Number(oursCpu.toFixed(3)),
    baseline_cpu_s: Number(baselineCpu.toFixed(3)),
    cpu_ratio: Number((oursCpu / baselineCpu).toFixed(3)),
    load_before: Number(loadBefore.toFixed(1)),
    load_after: Number(loadAfter.toFixed(1)),
    ...interleaveJson(timed),
    peak_rss_mb: peakRssMb,
    baseline_peak_rss_mb: baselinePeakRssMb,
    running_totals_build_s: Number(cold.buildSeconds.toFixed(3)),
    ours_first_run_s: Number(coldSeconds.toFixed(3)),
    ours_range_join_s: Number(join.seconds.toFixed(3)),
    ours_window_form_s: Number(window.seconds.toFixed(3)),
    mismatches,
  }),
);
