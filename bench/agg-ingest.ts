/**
 * npm run bench:agg-ingest: the running-totals build after an ingest of BENCH_INGEST_ROWS
 * (1,000) rows into a source of BENCH_SOURCE_ROWS (10,000,000) rows of BENCH_ENTITIES (100,000)
 * entities over a year (bench:agg's data and view: sum/count/avg of amount over 7/30/90 d):
 * the incremental build (only keys with new rows, from their earliest new event) against a full
 * build of the same stored rows, interleaved (`--runs N`, BENCH_RUNS, default 3;
 * bench/interleave.ts), each build in its own process. Each build's time includes writing the
 * lookup's time buckets, as an ingest does: all keys' for the full build, the changed keys' for
 * the incremental one (the base keeps the buckets written when it was built). The ingested rows: 90% in the last
 * week of the year, 10% late (anywhere in the year), 2% of them for new entities. Checks the
 * two builds hold the same rows, then prints the samples, medians, ratio, sizes and peak RSS;
 * the last line is one JSON object. Target: incremental under 10% of full.
 */
import { execFileSync } from 'node:child_process';
import { cp, link, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDuckdb, queryRows } from '../lib/offline/duckdb-session.ts';
import { ensureRunningTotals, runningTotalsDir } from '../lib/offline/running-totals.ts';
import { duckdbDialect } from '../lib/sql/duckdb-dialect.ts';
import { keyIdColumn, totalsRowsOf } from '../lib/sql/render-running-totals-key-ids.ts';
import { customerId, writeOrders, yearStart } from './agg-data.ts';
import { benchView } from './agg-ingest-view.ts';
import { describeInterleave, interleave, interleaveJson, runsOption } from './interleave.ts';

const sizes = {
  sourceRows: Number(process.env.BENCH_SOURCE_ROWS ?? 10_000_000),
  entities: Number(process.env.BENCH_ENTITIES ?? 100_000),
  ingestRows: Number(process.env.BENCH_INGEST_ROWS ?? 1_000),
};
const runs = runsOption(3);
const dir =
  process.env.BENCH_DIR ??
  path.join(tmpdir(), `fstore-bench-agg-ingest-${sizes.sourceRows}-${sizes.entities}`);
const tsx = fileURLToPath(new URL('../node_modules/tsx/dist/cli.mjs', import.meta.url));
const runner = fileURLToPath(new URL('./agg-ingest-run.ts', import.meta.url));
const orders = path.join(dir, 'offline', 'orders');
const totalsDir = runningTotalsDir(path.join(dir, 'offline'), 'orders');
/** The totals built before the ingest, kept aside: each incremental run starts from them. */
const baseTotals = path.join(dir, 'totals-before-ingest');
/** The ingest's file, in its day partition once "ingested". */
const ingestedFile = path.join(orders, 'dt=2025-12-31', 'ingest-bench.parquet');

/** bench:agg's source rows, and the ingest's rows aside (not yet in the store). */
async function writeData(aside: string): Promise<void> {
  const session = await openDuckdb();
  const { connection } = session;
  try {
    await connection.run('SELECT setseed(0.17)');
    await writeOrders(connection, orders, sizes);
    // Days are the last week's (or the whole year's for late rows); all go in one file, as an
    // ingest of one file writes one file per day: the partition it sits in does not matter to
    // the builds, which read event times.
    await connection.run(`
      COPY (
        SELECT ${customerId(`random() * ${sizes.entities} * 1.02`)} AS customer_id,
               round(random() * 500, 2) AS amount,
               ${yearStart} + to_microseconds(CAST(floor(CASE WHEN random() < 0.9 THEN 358 + random() * 7 ELSE random() * 365 END * 86400e6) AS BIGINT)) AS event_ts,
               CAST(${sizes.sourceRows} + i AS BIGINT) AS fstore_seq
        FROM range(${sizes.ingestRows}) t(i)
      ) TO '${aside}' (FORMAT parquet, COMPRESSION zstd)`);
  } finally {
    session.close();
  }
}

interface Build {
  seconds: number;
  kind: 'incremental' | 'full';
  reason?: string;
  incrementRows?: number;
  peakRssMb: number;
}

function build(mode: 'incremental' | 'full'): Build {
  const output = execFileSync(process.execPath, [tsx, runner, mode, dir], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  return JSON.parse(output.trim().split('\n').at(-1) ?? '{}') as Build;
}

const sizeMb = (file: string) =>
  Number(execFileSync('du', ['-sm', file], { encoding: 'utf8' }).split('\t')[0]);

/**
 * `from`'s files as hard links under `to`: the same inodes, so the time buckets written for a
 * totals file still match it (their names stamp its inode, size and mtime), as they do in a
 * store where the next ingest extends the totals in place. Builds never write into a file,
 * they only add and remove names.
 */
async function linkTree(from: string, to: string): Promise<void> {
  await rm(to, { recursive: true, force: true });
  await mkdir(to, { recursive: true });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    if (entry.isDirectory()) await linkTree(source, path.join(to, entry.name));
    else await link(source, path.join(to, entry.name));
  }
}

/** The totals as they were before the ingest (the state each incremental run extends). */
async function restoreTotalsBeforeIngest(): Promise<void> {
  await linkTree(baseTotals, totalsDir);
}

await mkdir(dir, { recursive: true });
const generating = performance.now();
const aside = path.join(dir, 'ingest-bench.parquet');
await rm(ingestedFile, { force: true });
await writeData(aside);
process.stderr.write(
  `data ready in ${((performance.now() - generating) / 1000).toFixed(1)} s (${dir})\n`,
);

// The totals before the ingest: a full build over the source without the ingest's file.
await rm(totalsDir, { recursive: true, force: true });
const before = build('full');
await linkTree(totalsDir, baseTotals);
await rename(aside, ingestedFile);
process.stderr.write(
  `totals before the ingest built in ${before.seconds.toFixed(2)} s; ${runs} interleaved pairs ...\n`,
);

const session = await openDuckdb();
const keep = async (name: string) => {
  const [file] = (await readdir(totalsDir)).filter((n) => n.endsWith('.parquet'));
  const target = path.join(dir, name);
  await rm(target, { recursive: true, force: true });
  await cp(totalsDir, target, { recursive: true });
  return { dir: target, file: path.join(target, file as string) };
};
let incrementalOut: { dir: string; file: string } | undefined;
let fullOut: { dir: string; file: string } | undefined;
const timed = await interleave({
  runs,
  ours: async () => {
    await restoreTotalsBeforeIngest();
    const run = build('incremental');
    incrementalOut = await keep('totals-incremental');
    return run;
  },
  baseline: async () => {
    await rm(totalsDir, { recursive: true, force: true });
    const run = build('full');
    fullOut = await keep('totals-full');
    return run;
  },
  value: (r) => r.seconds,
  onPair: (p) =>
    process.stderr.write(
      `pair ${p.pair}/${runs}: incremental ${p.oursValue.toFixed(2)} s, full ${p.baselineValue.toFixed(2)} s, ratio ${p.ratio.toFixed(3)}\n`,
    ),
});
const kinds = new Set(timed.pairs.map((p) => p.ours.kind));
if (kinds.size !== 1 || !kinds.has('incremental'))
  throw new Error(
    `an "incremental" run built in full: ${timed.pairs.map((p) => p.ours.reason).join('; ')}`,
  );

// The same rows: the incremental totals, read as fstore reads them, against the full build.
if (!incrementalOut || !fullOut) throw new Error('no runs');
await rm(totalsDir, { recursive: true, force: true });
await cp(incrementalOut.dir, totalsDir, { recursive: true, preserveTimestamps: true });
const offline = path.join(dir, 'offline');
const found = await ensureRunningTotals(
  session.connection,
  offline,
  duckdbDialect(offline),
  benchView(),
);
if (!found || found.built) throw new Error('the incremental totals were not found up to date');
// Compared through the keys: the increment numbers keys new since its base after the base's
// ids, a full build numbers every key in key order, so their ids may differ.
const asText = (relation: string) =>
  `SELECT CAST(COLUMNS(* EXCLUDE (${keyIdColumn})) AS VARCHAR) FROM ${relation}`;
const full = totalsRowsOf(`read_parquet('${fullOut.file}')`);
const differing = Number(
  (
    await queryRows(
      session.connection,
      `SELECT (SELECT count(*) FROM ((${asText(found.relation)}) EXCEPT ALL (${asText(full)}))) + (SELECT count(*) FROM ((${asText(full)}) EXCEPT ALL (${asText(found.relation)}))) AS n`,
    )
  )[0]?.n,
);
const totalsRows = Number(
  (await queryRows(session.connection, `SELECT count(*) AS n FROM ${full}`))[0]?.n,
);
session.close();
const base = path.join(
  incrementalOut.dir,
  'bases',
  path.basename((await readdir(path.join(incrementalOut.dir, 'bases')))[0] as string),
);

const incremental = timed.oursMedianRun;
const ratio = timed.ratioOfMedians;
const incrementMb = sizeMb(incrementalOut.file);
const baseMb = sizeMb(base);
const fullMb = sizeMb(fullOut.file);
console.log(
  `source rows ${sizes.sourceRows.toLocaleString('en-US')} (${sizeMb(orders)} MB Parquet), entities ${sizes.entities.toLocaleString('en-US')}; ingest of ${sizes.ingestRows.toLocaleString('en-US')} rows (90% last week, 10% late); totals ${totalsRows.toLocaleString('en-US')} rows`,
);
console.log(
  `incremental build: ${timed.oursMedian.toFixed(2)} s (median of ${timed.oursValues.map((v) => v.toFixed(2)).join(', ')}), increment ${incremental.incrementRows?.toLocaleString('en-US')} rows, ${incrementMb} MB over a ${baseMb} MB base, peak RSS ${Math.max(...timed.pairs.map((p) => p.ours.peakRssMb))} MB`,
);
console.log(
  `full build:        ${timed.baselineMedian.toFixed(2)} s (median of ${timed.baselineValues.map((v) => v.toFixed(2)).join(', ')}), ${fullMb} MB, peak RSS ${Math.max(...timed.pairs.map((p) => p.baseline.peakRssMb))} MB`,
);
for (const line of describeInterleave(timed, 's')) console.log(line);
console.log(
  `ratio incremental/full (of medians): ${ratio.toFixed(3)} (target < 0.1), median of pair ratios ${timed.medianPairRatio.toFixed(3)}; differing rows: ${differing}`,
);
if (differing > 0) process.exitCode = 1;
console.log(
  JSON.stringify({
    bench: 'agg-ingest',
    source_rows: sizes.sourceRows,
    entities: sizes.entities,
    ingest_rows: sizes.ingestRows,
    incremental_s: Number(timed.oursMedian.toFixed(3)),
    full_s: Number(timed.baselineMedian.toFixed(3)),
    ratio: Number(ratio.toFixed(3)),
    ...interleaveJson(timed),
    increment_rows: incremental.incrementRows,
    totals_rows: totalsRows,
    increment_mb: incrementMb,
    base_mb: baseMb,
    full_mb: fullMb,
    incremental_peak_rss_mb: Math.max(...timed.pairs.map((p) => p.ours.peakRssMb)),
    full_peak_rss_mb: Math.max(...timed.pairs.map((p) => p.baseline.peakRssMb)),
    differing_rows: differing,
  }),
);
