/**
 * npm run bench:agg: windowed aggregates (sum, count, avg of amount over 7, 30 and 90 days)
 * for BENCH_ENTITY_ROWS (1,000,000) entity rows over BENCH_SOURCE_ROWS (10,000,000) source
 * rows of BENCH_ENTITIES (100,000) entities, a year of data: fstore's SQL against the
 * straightforward SQL (each entity row joined to its entity's rows of the widest window,
 * grouped) on DuckDB, same data, same run. Checks both agree, then prints times, the ratio
 * ours/baseline and peak RSS; the last line is one JSON object.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDuckdb, queryRows } from '../lib/offline/duckdb-session.ts';

const sizes = {
  entityRows: Number(process.env.BENCH_ENTITY_ROWS ?? 1_000_000),
  sourceRows: Number(process.env.BENCH_SOURCE_ROWS ?? 10_000_000),
  entities: Number(process.env.BENCH_ENTITIES ?? 100_000),
};
const dir =
  process.env.BENCH_DIR ??
  path.join(tmpdir(), `fstore-bench-agg-${sizes.entityRows}-${sizes.sourceRows}-${sizes.entities}`);
const tsx = fileURLToPath(new URL('../node_modules/tsx/dist/cli.mjs', import.meta.url));
const runner = fileURLToPath(new URL('./agg-run.ts', import.meta.url));
const yearStart = "TIMESTAMP '2025-01-01 00:00:00'";
const exists = async (file: string) => (await stat(file).catch(() => undefined)) !== undefined;

async function writeData(): Promise<void> {
  const session = await openDuckdb();
  const { connection } = session;
  try {
    await connection.run('SELECT setseed(0.17)');
    const orders = path.join(dir, 'offline', 'orders');
    if (!(await exists(orders))) {
      const partial = `${orders}.partial`;
      await rm(partial, { recursive: true, force: true });
      await mkdir(path.dirname(partial), { recursive: true });
      await connection.run(`
        COPY (
          SELECT *, strftime(event_ts, '%Y-%m-%d') AS dt FROM (
            SELECT 'C' || lpad(CAST(CAST(floor(random() * ${sizes.entities}) AS BIGINT) AS VARCHAR), 6, '0') AS customer_id,
                   round(random() * 500, 2) AS amount,
                   ${yearStart} + to_microseconds(CAST(floor(random() * 365 * 86400e6) AS BIGINT)) AS event_ts,
                   CAST(i AS BIGINT) AS fstore_seq
            FROM range(${sizes.sourceRows}) t(i)
          )
        ) TO '${partial}' (FORMAT parquet, PARTITION_BY (dt), COMPRESSION zstd)`);
      await rename(partial, orders);
    }
    const entities = path.join(dir, 'entities.parquet');
    if (!(await exists(entities)))
      await connection.run(`
        COPY (
          SELECT 'C' || lpad(CAST(CAST(floor(random() * ${sizes.entities}) AS BIGINT) AS VARCHAR), 6, '0') AS customer_id,
                 ${yearStart} + to_microseconds(CAST(floor(random() * 365 * 86400e6) AS BIGINT)) AS event_timestamp,
                 CAST(i + 1 AS BIGINT) AS fstore_row_id
          FROM range(${sizes.entityRows}) t(i)
        ) TO '${entities}' (FORMAT parquet, COMPRESSION zstd)`);
  } finally {
    session.close();
  }
}

interface Run {
  seconds: number;
  peakRssMb: number;
  rows: number;
}

function run(mode: 'ours' | 'ours-window' | 'baseline', out: string): Run {
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
const oursOut = path.join(dir, 'ours.parquet');
const baselineOut = path.join(dir, 'baseline.parquet');
const ours = run('ours', oursOut);
const window = run('ours-window', path.join(dir, 'ours-window.parquet'));
const baseline = run('baseline', baselineOut);

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
         JOIN (SELECT row_number() OVER () AS r, * FROM read_parquet('${baselineOut}')) b USING (r)
         WHERE ${features.map((f) => `NOT (a.${f} IS NOT DISTINCT FROM b.${f} OR abs(a.${f} - b.${f}) < 1e-6)`).join(' OR ')}`,
      )
    )[0]?.n,
  );
const mismatches =
  (await mismatching(oursOut)) + (await mismatching(path.join(dir, 'ours-window.parquet')));
session.close();
const sizeMb = Number(
  execFileSync('du', ['-sm', path.join(dir, 'offline')], { encoding: 'utf8' }).split('\t')[0],
);
const ratio = ours.seconds / baseline.seconds;
console.log(
  `source rows ${sizes.sourceRows.toLocaleString('en-US')} (${sizeMb} MB Parquet), entities ${sizes.entities.toLocaleString('en-US')}, entity rows ${sizes.entityRows.toLocaleString('en-US')}; features sum/count/avg × 7d/30d/90d`,
);
console.log(
  `fstore SQL (DuckDB):      ${ours.seconds.toFixed(2)} s, peak RSS ${ours.peakRssMb} MB, ${ours.rows} rows`,
);
console.log(
  `fstore SQL (Athena form): ${window.seconds.toFixed(2)} s, peak RSS ${window.peakRssMb} MB (one-sort windows, run on DuckDB)`,
);
console.log(
  `straightforward join SQL: ${baseline.seconds.toFixed(2)} s, peak RSS ${baseline.peakRssMb} MB, ${baseline.rows} rows`,
);
console.log(
  `ratio ours/baseline: ${ratio.toFixed(2)} (target ≤ 0.5); mismatching rows: ${mismatches}`,
);
if (mismatches > 0 || ours.rows !== baseline.rows) process.exitCode = 1;
console.log(
  JSON.stringify({
    bench: 'agg',
    source_rows: sizes.sourceRows,
    entity_rows: sizes.entityRows,
    ours_s: Number(ours.seconds.toFixed(3)),
    ours_window_form_s: Number(window.seconds.toFixed(3)),
    baseline_s: Number(baseline.seconds.toFixed(3)),
    ratio: Number(ratio.toFixed(3)),
    peak_rss_mb: ours.peakRssMb,
    mismatches,
  }),
);
