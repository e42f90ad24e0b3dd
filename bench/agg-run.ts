/**
 * One timed run of bench:agg in its own process, so peak RSS belongs to one engine run:
 * `tsx bench/agg-run.ts <mode> <dataDir> <out.parquet>` with mode
 * - ours: running totals (built first when missing, timed apart as buildSeconds);
 * - ours-join: DuckDB's range-join rendering;
 * - ours-window: the one-sort window rendering Athena runs;
 * - baseline: the straightforward join-and-group SQL.
 * Prints one JSON line: { seconds, cpuSeconds, buildSeconds, peakRssMb, rows }, cpuSeconds
 * being the process's user + system CPU time during the query (all DuckDB threads): on a
 * machine shared with other work it moves less with the load than wall time.
 */
import path from 'node:path';
import { defineAggregationView, defineEntity, defineSource } from '../lib/definitions/index.ts';
import { openDuckdb, queryRows } from '../lib/offline/duckdb-session.ts';
import { ensureRunningTotals } from '../lib/offline/running-totals.ts';
import { compileRegistry } from '../lib/registry/index.ts';
import { duckdbDialect } from '../lib/sql/duckdb-dialect.ts';
import { planPointInTime } from '../lib/sql/point-in-time-plan.ts';
import type { RunningTotalsSource } from '../lib/sql/render-running-totals.ts';
import { renderTrainingSetSql } from '../lib/sql/render-training-set.ts';

const windows = [7, 30, 90] as const;
const functions = ['sum', 'count', 'avg'] as const;

const modes = ['ours', 'ours-join', 'ours-window', 'baseline'];
const [mode, dirArg, outArg] = process.argv.slice(2);
if (!modes.includes(mode ?? '') || !dirArg || !outArg)
  throw new Error(`usage: agg-run.ts <${modes.join('|')}> <dataDir> <out>`);
const dir: string = dirArg;
const entitiesFile = path.join(dir, 'entities.parquet');
const offline = path.join(dir, 'offline');
const dialect = duckdbDialect(offline);
const featureNames = windows.flatMap((w) => functions.map((f) => `amount_${f}_${w}d`));

function oursPlan() {
  const customer = defineEntity({
    name: 'customer',
    joinKeys: [{ name: 'customer_id', type: 'string' }],
  });
  const orders = defineSource({
    name: 'orders',
    schema: { customer_id: 'string', amount: 'float64', event_ts: 'timestamp' },
    timestampField: 'event_ts',
  });
  const view = defineAggregationView({
    name: 'order_stats',
    entities: [customer],
    source: orders,
    aggregations: { amount: { functions: [...functions], windows: windows.map((w) => `${w}d`) } },
  });
  const registry = compileRegistry([{ definition: view }]);
  return planPointInTime(
    registry,
    { features: featureNames.map((f) => `order_stats:${f}`) },
    { entityTimestampColumn: 'event_timestamp' },
  );
}

function oursSql(strategy: 'asof' | 'merge-window', runningTotals?: RunningTotalsSource): string {
  const plan = oursPlan();
  return renderTrainingSetSql(plan, dialect, {
    entityRelation: `read_parquet('${entitiesFile}')`,
    entityColumns: ['customer_id', 'event_timestamp'],
    strategy,
    ...(runningTotals
      ? { runningTotals: new Map(plan.views.map((v) => [v.view, runningTotals])) }
      : {}),
  });
}

/** The straightforward SQL: each entity row joined to its entity's rows of the widest window. */
function baselineSql(): string {
  const widest = Math.max(...windows);
  const columns = windows.flatMap((w) => {
    const inWindow = `o.event_ts > e.event_timestamp - INTERVAL ${w} DAY`;
    return [
      `sum(o.amount) FILTER (WHERE ${inWindow}) AS amount_sum_${w}d`,
      `count(o.amount) FILTER (WHERE ${inWindow}) AS amount_count_${w}d`,
      `avg(o.amount) FILTER (WHERE ${inWindow}) AS amount_avg_${w}d`,
    ];
  });
  return [
    `SELECT e.customer_id, e.event_timestamp, ${columns.join(', ')}`,
    `FROM read_parquet('${entitiesFile}') e`,
    `LEFT JOIN read_parquet('${path.join(dir, 'offline', 'orders', '*', '*.parquet')}', hive_partitioning = true) o`,
    `  ON o.customer_id = e.customer_id AND o.event_ts <= e.event_timestamp AND o.event_ts > e.event_timestamp - INTERVAL ${widest} DAY`,
    'GROUP BY e.fstore_row_id, e.customer_id, e.event_timestamp',
    'ORDER BY e.fstore_row_id',
  ].join('\n');
}

const session = await openDuckdb();
await session.connection.run(`SET memory_limit = '${process.env.BENCH_MEMORY_LIMIT ?? '4GB'}'`);
await session.connection.run(`SET temp_directory = '${path.join(dir, 'tmp')}'`);
let buildSeconds = 0;
let sql: string;
if (mode === 'ours') {
  const building = performance.now();
  const [view] = oursPlan().views;
  if (!view) throw new Error('the bench plan has no view');
  const totals = await ensureRunningTotals(session.connection, offline, dialect, view);
  if (!totals) throw new Error(`no stored rows under ${offline}`);
  if (totals.built) buildSeconds = (performance.now() - building) / 1000;
  sql = oursSql('asof', totals);
} else if (mode === 'baseline') sql = baselineSql();
else sql = oursSql(mode === 'ours-join' ? 'asof' : 'merge-window');
const started = performance.now();
const cpuBefore = process.cpuUsage();
await session.connection.run(`COPY (${sql}) TO '${outArg}' (FORMAT parquet)`);
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuBefore);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
const rows = Number(
  (await queryRows(session.connection, `SELECT count(*) AS n FROM read_parquet('${outArg}')`))[0]
    ?.n,
);
session.close();
process.stdout.write(
  `${JSON.stringify({ seconds, cpuSeconds, buildSeconds, peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024), rows })}\n`,
);
