/**
 * One baseline run of bench:pit's end-to-end comparison, in its own plain-Node process (no
 * TypeScript loader, so its start-up is DuckDB's own): process start → result file, as a user
 * who writes the query by hand would run it.
 *   node bench/pit-baseline-run.mjs <asof|feast> <out.parquet> <entities.parquet> <ttlSeconds> <view=source.parquet>...
 * `asof`: DuckDB's ASOF LEFT JOIN per view (latest row at or before t, then the TTL check).
 * `feast`: Feast's point-in-time template: per view a range join on key and
 * `t - ttl <= event_ts <= t`, row_number() per entity row, the first kept.
 * Output: the entity columns, then `<view>__value`, `<view>__bucket` per view, in entity file order.
 */
import { DuckDBInstance } from '@duckdb/node-api';

const [mode, out, entities, ttlText, ...viewArgs] = process.argv.slice(2);
if (
  !['asof', 'feast'].includes(mode ?? '') ||
  !out ||
  !entities ||
  !ttlText ||
  viewArgs.length === 0
)
  throw new Error(
    'usage: pit-baseline-run.mjs <asof|feast> <out> <entities> <ttlSeconds> <view=file>...',
  );
const ttl = Number(ttlText);
const views = viewArgs.map((arg) => {
  const [name, file] = arg.split('=');
  return { name, file };
});
// The bench names its own files; a hand-written query like this one takes them as they are.
const literal = (text) => {
  if (text.includes("'")) throw new Error(`file path with a quote is not supported here: ${text}`);
  return `'${text}'`;
};
const entityRows = `SELECT customer_id, event_timestamp, label, file_row_number AS fstore_row FROM read_parquet(${literal(entities)}, file_row_number = true)`;

function asofSql() {
  const joins = views.map(
    (v, i) =>
      `ASOF LEFT JOIN read_parquet(${literal(v.file)}) f${i} ON e.customer_id = f${i}.customer_id AND e.event_timestamp >= f${i}.event_ts`,
  );
  const columns = views.flatMap((v, i) => {
    const fresh = `f${i}.event_ts >= e.event_timestamp - INTERVAL '${ttl}' SECOND`;
    return [
      `CASE WHEN ${fresh} THEN f${i}.value END AS "${v.name}__value"`,
      `CASE WHEN ${fresh} THEN f${i}.bucket END AS "${v.name}__bucket"`,
    ];
  });
  return `SELECT e.customer_id, e.event_timestamp, e.label, ${columns.join(', ')} FROM (${entityRows}) e ${joins.join(' ')} ORDER BY e.fstore_row`;
}

function feastSql() {
  const ctes = views.map(
    (v, i) => `v${i} AS (
      SELECT fstore_row, value, bucket FROM (
        SELECT e.fstore_row, f.value, f.bucket,
               row_number() OVER (PARTITION BY e.fstore_row ORDER BY f.event_ts DESC) AS rank
        FROM entity_rows e JOIN read_parquet(${literal(v.file)}) f
          ON f.customer_id = e.customer_id
         AND f.event_ts <= e.event_timestamp
         AND f.event_ts >= e.event_timestamp - INTERVAL '${ttl}' SECOND
      ) WHERE rank = 1)`,
  );
  const columns = views.flatMap((v, i) => [
    `v${i}.value AS "${v.name}__value"`,
    `v${i}.bucket AS "${v.name}__bucket"`,
  ]);
  const joins = views.map((_, i) => `LEFT JOIN v${i} ON v${i}.fstore_row = e.fstore_row`);
  return `WITH entity_rows AS (${entityRows}), ${ctes.join(', ')}
    SELECT e.customer_id, e.event_timestamp, e.label, ${columns.join(', ')} FROM entity_rows e ${joins.join(' ')} ORDER BY e.fstore_row`;
}

const instance = await DuckDBInstance.create(':memory:');
const connection = await instance.connect();
await connection.run("SET TimeZone = 'UTC'");
await connection.run(
  `COPY (${mode === 'asof' ? asofSql() : feastSql()}) TO ${literal(out)} (FORMAT parquet, COMPRESSION zstd)`,
);
connection.closeSync();
instance.closeSync();
