/**
 * npm run bench:materialize: BENCH_ROWS (1,000,000) entity rows materialized from the local
 * offline store (DuckDB over Parquet) into a local DynamoDB-API server (dynalite in its own
 * process), end to end through fstore's materializer; in the same run, a bare loop of the same
 * conditional PutItem calls at the same concurrency (BENCH_CONCURRENCY, 16) with no query and
 * no codec, into a fresh server. Prints rows/s of both, the ratio ours/baseline, and the
 * materializer's peak RSS; the last line is one JSON object.
 */
import { execFileSync, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { benchConcurrency, writeBenchSource } from './materialize-setup.ts';

const rows = Number(process.env.BENCH_ROWS ?? 1_000_000);
const dataDir = process.env.BENCH_DIR ?? path.join(tmpdir(), `fstore-bench-materialize-${rows}`);
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

function pass(mode: 'ours' | 'baseline', endpoint: string): Pass {
  const output = execFileSync(
    process.execPath,
    [tsx, here('./materialize-run.ts'), mode, endpoint, dataDir, String(rows)],
    { encoding: 'utf8', maxBuffer: 1 << 20, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return JSON.parse(output.trim().split('\n').at(-1) ?? '{}') as Pass;
}

process.stderr.write(`writing ${rows.toLocaleString('en-US')} rows to ${dataDir} ...\n`);
await writeBenchSource(dataDir, rows);
process.stderr.write(`materializing with fstore (concurrency ${benchConcurrency}) ...\n`);
const ours = await withServer((endpoint) => pass('ours', endpoint));
process.stderr.write('bare PutItem loop ...\n');
const baseline = await withServer((endpoint) => pass('baseline', endpoint));
if (ours.rows !== rows || baseline.rows !== rows)
  throw new Error(
    `expected ${rows} rows written, got ours ${ours.rows}, baseline ${baseline.rows}`,
  );

const oursRate = ours.rows / ours.seconds;
const baselineRate = baseline.rows / baseline.seconds;
const ratio = oursRate / baselineRate;
const sizeMb = Number(execFileSync('du', ['-sm', dataDir], { encoding: 'utf8' }).split('\t')[0]);
console.log(`rows:                 ${rows.toLocaleString('en-US')} (offline Parquet ${sizeMb} MB)`);
console.log(
  `fstore materialize:   ${ours.seconds.toFixed(1)} s, ${Math.round(oursRate)} rows/s, peak RSS ${ours.peakRssMb} MB`,
);
console.log(
  `bare PutItem loop:    ${baseline.seconds.toFixed(1)} s, ${Math.round(baselineRate)} rows/s, peak RSS ${baseline.peakRssMb} MB`,
);
console.log(`ratio ours/baseline:  ${ratio.toFixed(2)} (target ≥ 0.8); peak RSS target < 1024 MB`);
console.log(
  JSON.stringify({
    bench: 'materialize',
    rows,
    concurrency: benchConcurrency,
    ours_rows_s: Math.round(oursRate),
    baseline_rows_s: Math.round(baselineRate),
    ratio: Number(ratio.toFixed(3)),
    peak_rss_mb: ours.peakRssMb,
  }),
);
