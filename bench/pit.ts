/**
 * npm run bench:pit — fstore's point-in-time SQL on DuckDB against DuckDB's native ASOF JOIN,
 * on the same Parquet data in the same run, for a 1-view and a 3-view request. Checks that
 * both give the same values, then prints times, peak RSS and the ratio ours/ASOF; the last
 * line is the 1-view JSON summary.
 *
 * Sizes: BENCH_ENTITY_ROWS (1,000,000), BENCH_FEATURE_ROWS (10,000,000), BENCH_ENTITIES (100,000).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDuckdb, queryRows } from '../lib/offline/duckdb-session.ts';
import { writePitBenchData } from './pit-data.ts';

const sizes = {
  entityRows: Number(process.env.BENCH_ENTITY_ROWS ?? 1_000_000),
  featureRows: Number(process.env.BENCH_FEATURE_ROWS ?? 10_000_000),
  entities: Number(process.env.BENCH_ENTITIES ?? 100_000),
};
const root =
  process.env.BENCH_DIR ??
  path.join(
    tmpdir(),
    `fstore-bench-pit-${sizes.entityRows}-${sizes.featureRows}-${sizes.entities}`,
  );
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
for (const views of [3, 1]) {
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
  const asof = run('asof', views, dir, asofOut);
  const ours = run('ours', views, dir, oursOut);
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
  const ratio = ours.seconds / asof.seconds;
  console.log(
    `[${views} view(s)] ours ${ours.seconds.toFixed(2)} s (peak RSS ${ours.peakRssMb} MB) | DuckDB ASOF JOIN ${asof.seconds.toFixed(2)} s (peak RSS ${asof.peakRssMb} MB) | ratio ours/ASOF ${ratio.toFixed(2)}`,
  );
  console.log(
    `[${views} view(s)] ours with the merge-window SQL Athena runs: ${merge.seconds.toFixed(2)} s (peak RSS ${merge.peakRssMb} MB), ratio ${(merge.seconds / asof.seconds).toFixed(2)}`,
  );
  console.log(
    `[${views} view(s)] rows out ${ours.rows.toLocaleString('en-US')} (ASOF ${asof.rows.toLocaleString('en-US')}), v0 matched ${matched.toLocaleString('en-US')}, value mismatches ${mismatches}`,
  );
  if (mismatches !== 0 || ours.rows !== sizes.entityRows || merge.rows !== sizes.entityRows) {
    console.error('FAIL: results differ from the ASOF baseline');
    process.exitCode = 1;
  }
  summaries.push(
    JSON.stringify({
      bench: 'pit',
      views,
      entity_rows: sizes.entityRows,
      feature_rows: sizes.featureRows,
      ours_s: Number(ours.seconds.toFixed(2)),
      baseline_s: Number(asof.seconds.toFixed(2)),
      ratio: Number(ratio.toFixed(2)),
      peak_rss_mb: ours.peakRssMb,
      merge_window_s: Number(merge.seconds.toFixed(2)),
      merge_window_ratio: Number((merge.seconds / asof.seconds).toFixed(2)),
      baseline_peak_rss_mb: asof.peakRssMb,
      mismatches,
    }),
  );
  await rm(oursOut, { force: true });
  await rm(windowOut, { force: true });
  await rm(asofOut, { force: true });
}
if (process.env.BENCH_KEEP_DATA !== '1' && (await stat(root).catch(() => undefined)))
  await rm(root, { recursive: true, force: true });
for (const line of summaries) console.log(line);
