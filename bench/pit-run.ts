/**
 * One timed run of the point-in-time benchmark in its own process, so peak RSS belongs to
 * one engine run: `tsx bench/pit-run.ts <ours|ours-merge-window|asof> <views> <dataDir> <out.parquet>`.
 * Prints one JSON line: { seconds, peakRssMb, rows }.
 */
import path from 'node:path';
import { defineEntity, defineFeatureView, defineSource } from '../lib/definitions/index.ts';
import { openDuckdb, queryRows } from '../lib/offline/duckdb-session.ts';
import { compileRegistry } from '../lib/registry/index.ts';
import { duckdbDialect } from '../lib/sql/duckdb-dialect.ts';
import { planPointInTime } from '../lib/sql/point-in-time-plan.ts';
import { type PointInTimeStrategy, renderTrainingSetSql } from '../lib/sql/render-training-set.ts';

const [mode, viewsArg, dirArg, outArg] = process.argv.slice(2);
const modes = ['ours', 'ours-merge-window', 'asof'];
if (!mode || !modes.includes(mode) || !viewsArg || !dirArg || !outArg) {
  throw new Error(`usage: pit-run.ts <${modes.join('|')}> <views> <dataDir> <out>`);
}
const dir: string = dirArg;
const out: string = outArg;
const viewCount = Number(viewsArg);
const ttlSeconds = 30 * 86_400;
const sourceNames = Array.from({ length: viewCount }, (_, i) => `src_${i}`);
const entitiesFile = path.join(dir, 'entities.parquet');

function oursSql(strategy: PointInTimeStrategy): string {
  const customer = defineEntity({
    name: 'customer',
    joinKeys: [{ name: 'customer_id', type: 'string' }],
  });
  const views = sourceNames.map((name, i) =>
    defineFeatureView({
      name: `v${i}`,
      entities: [customer],
      source: defineSource({
        name,
        schema: { customer_id: 'string', value: 'float64', bucket: 'int32', event_ts: 'timestamp' },
        timestampField: 'event_ts',
      }),
      features: { value: 'float64', bucket: 'int32' },
      ttl: '30d',
    }),
  );
  const registry = compileRegistry(views.map((definition) => ({ definition })));
  const plan = planPointInTime(
    registry,
    { features: views.map((v) => `${v.name}:*`) },
    { entityTimestampColumn: 'event_timestamp', fullFeatureNames: true },
  );
  return renderTrainingSetSql(plan, duckdbDialect(path.join(dir, 'offline')), {
    entityRelation: `read_parquet('${entitiesFile}')`,
    entityColumns: ['customer_id', 'event_timestamp', 'label'],
    strategy,
  });
}

/** DuckDB's own ASOF JOIN: the fastest native way to get "latest row at or before t". */
function asofSql(): string {
  const joins = sourceNames.map(
    (name, i) =>
      `ASOF LEFT JOIN read_parquet('${path.join(dir, 'offline', name, '*', '*.parquet')}', hive_partitioning = true) f${i} ON e.customer_id = f${i}.customer_id AND e.event_timestamp >= f${i}.event_ts`,
  );
  const columns = sourceNames.flatMap((_, i) => {
    const fresh = `f${i}.event_ts >= e.event_timestamp - INTERVAL '${ttlSeconds}' SECOND`;
    return [
      `CASE WHEN ${fresh} THEN f${i}.value END AS v${i}__value`,
      `CASE WHEN ${fresh} THEN f${i}.bucket END AS v${i}__bucket`,
    ];
  });
  return `SELECT e.customer_id, e.event_timestamp, e.label, ${columns.join(', ')} FROM read_parquet('${entitiesFile}') e ${joins.join(' ')} ORDER BY e.fstore_row_id`;
}

const session = await openDuckdb();
await session.connection.run(`SET memory_limit = '${process.env.BENCH_MEMORY_LIMIT ?? '2GB'}'`);
await session.connection.run(`SET temp_directory = '${path.join(dir, 'tmp')}'`);
const sql = mode === 'asof' ? asofSql() : oursSql(mode === 'ours' ? 'asof' : 'merge-window');
const started = performance.now();
await session.connection.run(`COPY (${sql}) TO '${out}' (FORMAT parquet)`);
const seconds = (performance.now() - started) / 1000;
const rows = Number(
  (await queryRows(session.connection, `SELECT count(*) AS n FROM read_parquet('${out}')`))[0]?.n,
);
session.close();
process.stdout.write(
  `${JSON.stringify({ seconds, peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024), rows })}\n`,
);
