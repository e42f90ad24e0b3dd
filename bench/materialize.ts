/**
 * npm run bench:materialize: BENCH_ROWS (1,000,000) entity rows materialized from the local
 * offline store (DuckDB over Parquet) into a local DynamoDB-API server (dynalite in its own
 * process), end to end through fstore's materializer; in the same run, a bare loop of the same
 * conditional PutItem calls at the same concurrency (BENCH_CONCURRENCY, 16) with no query and
 * no codec, into a fresh server. The two run interleaved, `--runs N` pairs (BENCH_RUNS,
 * default 3 here: a pass of 1M rows takes minutes; bench/interleave.ts), each pass on a fresh
 * server. Prints every pass's rows/s, the medians, the ratio ours/baseline and the
 * materializer's peak RSS; the last line is one JSON object.
 *
 * The incremental case (what a scheduled run costs after an ingest): in each pair, one process
 * on a fresh copy of the store and a fresh server runs the full materialization (the baseline),
 * ingests BENCH_INGEST_ROWS (1,000) rows through `fstore ingest`'s code (90 % new values dated
 * after the full run, 10 % late), then the next scheduled run (ours); reports the PutItem calls
 * it issued and its time against the full run's (targets: puts ≤ rows ingested, time ≤ 5 %),
 * and a JSON line. `--case throughput|incremental` runs only one case (default both).
 *
 * `--shards 1,2,4` runs only the sharded case instead (bench/materialize-shards.ts): rows/s of
 * `fstore materialize --shards N` per shard count, in rotated rounds, with peak RSS.
 */
import { execFileSync, spawn } from 'node:child_process';
import { cp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describeInterleave, interleave, interleaveJson, runsOption } from './interleave.ts';
import { benchConcurrency, writeBenchSource } from './materialize-setup.ts';
import { type ShardPass, shardCountsOption, shardsCase } from './materialize-shards.ts';

const rows = Number(process.env.BENCH_ROWS ?? 1_000_000);
const runs = runsOption(3);
const ingestRows = Number(process.env.BENCH_INGEST_ROWS ?? 1000);
const shardCounts = shardCountsOption();
const caseArg = process.argv.indexOf('--case');
const benchCase = caseArg >= 0 ? process.argv[caseArg + 1] : 'all';
if (!['all', 'throughput', 'incremental'].includes(benchCase ?? ''))
  throw new Error(`--case must be throughput or incremental, got ${JSON.stringify(benchCase)}`);
// v2: the base rows are committed in _ingests.jsonl (older folders have no manifest).
const dataDir = process.env.BENCH_DIR ?? path.join(tmpdir(), `fstore-bench-materialize-${rows}-v2`);
const tsx = fileURLToPath(new URL('../node_modules/tsx/dist/cli.mjs', import.meta.url));
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

interface Pass {
  rows: number;
  seconds: number;
  peakRssMb: number;
}

async function withServer<T>(work: (endpoint: string) => T): Promise<T> {
  const child = spawn(process.execPath, [tsx, here('./dynalite-process.ts')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const endpoint = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`dynalite exited with ${code}`)));
  });
  try {
    return work(endpoint);
  } finally {
    child.kill('SIGTERM');
  }
}

function pass(
  mode: 'ours' | 'baseline' | 'incremental',
  endpoint: string,
  dir = dataDir,
  shards = 1,
): Pass {
  const output = execFileSync(
    process.execPath,
    [
      tsx,
      here('./materialize-run.ts'),
      mode,
      endpoint,
      dir,
      String(rows),
      String(ingestRows),
      String(shards),
    ],
    { encoding: 'utf8', maxBuffer: 1 << 20, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return JSON.parse(output.trim().split('\n').at(-1) ?? '{}') as Pass;
}

process.stderr.write(`writing ${rows.toLocaleString('en-US')} rows to ${dataDir} ...\n`);
await writeBenchSource(dataDir, rows);
if (shardCounts)
  await shardsCase({
    counts: shardCounts,
    rounds: runs,
    rows,
    concurrency: benchConcurrency,
    pass: (shards) => withServer((endpoint): ShardPass => pass('ours', endpoint, dataDir, shards)),
  });
else {
  if (benchCase !== 'incremental') await throughputCase();
  if (benchCase !== 'throughput') await incrementalCase();
}

async function throughputCase(): Promise<void> {
  process.stderr.write(
    `${runs} interleaved pairs: fstore materialize, bare PutItem loop (concurrency ${benchConcurrency}), each on a fresh dynalite ...\n`,
  );
  const timed = await interleave({
    runs,
    ours: () => withServer((endpoint) => pass('ours', endpoint)),
    baseline: () => withServer((endpoint) => pass('baseline', endpoint)),
    value: (p) => p.rows / p.seconds,
    onPair: (p) => {
      process.stderr.write(
        `pair ${p.pair}/${runs}: ours ${Math.round(p.oursValue)} rows/s, baseline ${Math.round(p.baselineValue)} rows/s, ratio ${p.ratio.toFixed(2)}\n`,
      );
      if (p.ours.rows !== rows || p.baseline.rows !== rows)
        throw new Error(
          `expected ${rows} rows written, got ours ${p.ours.rows}, baseline ${p.baseline.rows}`,
        );
    },
  });
  const ours = timed.oursMedianRun;
  const baseline = timed.baselineMedianRun;
  const oursPeakRssMb = Math.max(...timed.pairs.map((p) => p.ours.peakRssMb));
  const baselinePeakRssMb = Math.max(...timed.pairs.map((p) => p.baseline.peakRssMb));
  const ratio = timed.ratioOfMedians;
  const sizeMb = Number(execFileSync('du', ['-sm', dataDir], { encoding: 'utf8' }).split('\t')[0]);
  console.log(
    `rows:                 ${rows.toLocaleString('en-US')} (offline Parquet ${sizeMb} MB)`,
  );
  console.log(
    `fstore materialize:   median ${Math.round(timed.oursMedian)} rows/s (${ours.seconds.toFixed(1)} s), peak RSS ${oursPeakRssMb} MB`,
  );
  console.log(
    `bare PutItem loop:    median ${Math.round(timed.baselineMedian)} rows/s (${baseline.seconds.toFixed(1)} s), peak RSS ${baselinePeakRssMb} MB`,
  );
  for (const line of describeInterleave(timed, 'rows/s', 0)) console.log(line);
  console.log(
    `ratio ours/baseline:  ${ratio.toFixed(2)} of medians, ${timed.medianPairRatio.toFixed(2)} median of pair ratios (target ≥ 0.8); peak RSS target < 1024 MB`,
  );
  console.log(
    JSON.stringify({
      bench: 'materialize',
      rows,
      concurrency: benchConcurrency,
      ours_rows_s: Math.round(timed.oursMedian),
      baseline_rows_s: Math.round(timed.baselineMedian),
      ratio: Number(ratio.toFixed(3)),
      ...interleaveJson(timed, 0),
      peak_rss_mb: oursPeakRssMb,
      baseline_peak_rss_mb: baselinePeakRssMb,
    }),
  );
}

interface IncrementalPass extends Pass {
  fullSeconds: number;
  puts: number;
  rowsRead: number;
  ingested: number;
}

async function incrementalCase(): Promise<void> {
  process.stderr.write(
    `${runs} pairs, each in one process on a fresh copy and server: full run (baseline), ingest ${ingestRows.toLocaleString('en-US')} rows, next run (ours) ...\n`,
  );
  const incrementalPass = async (pair: number): Promise<IncrementalPass> => {
    const copy = `${dataDir}-incremental-${pair}`;
    await rm(copy, { recursive: true, force: true });
    await cp(dataDir, copy, { recursive: true });
    try {
      return (await withServer((endpoint) =>
        pass('incremental', endpoint, copy),
      )) as IncrementalPass;
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  };
  let latest: IncrementalPass | undefined;
  const timed = await interleave({
    runs,
    ours: async (pair) => {
      latest = await incrementalPass(pair);
      return latest;
    },
    // The full run of the same pass, just before the ingest.
    baseline: () => ({
      ...(latest as IncrementalPass),
      seconds: (latest as IncrementalPass).fullSeconds,
    }),
    value: (p) => p.seconds,
    onPair: (p) => {
      process.stderr.write(
        `pair ${p.pair}/${runs}: incremental ${p.oursValue.toFixed(2)} s (${p.ours.puts} puts, ${p.ours.rowsRead} rows read), full ${p.baselineValue.toFixed(1)} s, ratio ${p.ratio.toFixed(4)}\n`,
      );
    },
  });
  const puts = Math.max(...timed.pairs.map((p) => p.ours.puts));
  const ingested = timed.pairs[0]?.ours.ingested ?? 0;
  console.log(
    `incremental run:      median ${timed.oursMedian.toFixed(2)} s after an ingest of ${ingested.toLocaleString('en-US')} rows into ${rows.toLocaleString('en-US')}; at most ${puts} PutItem calls (${timed.oursMedianRun.rows} written)`,
  );
  console.log(`full run:             median ${timed.baselineMedian.toFixed(1)} s`);
  for (const line of describeInterleave(timed, 's', 2)) console.log(line);
  console.log(
    `incremental/full:     ${(100 * timed.ratioOfMedians).toFixed(2)} % of medians (target ≤ 5 %); puts ${puts} vs ${ingested} rows ingested (target ≤)`,
  );
  console.log(
    JSON.stringify({
      bench: 'materialize-incremental',
      rows,
      ingested,
      max_puts: puts,
      ...interleaveJson(timed, 3),
    }),
  );
}
