/**
 * One baseline run of bench:pit's end-to-end comparison, in its own plain-Node process (no
 * TypeScript loader, so its start-up is DuckDB's own): process start → result file, as a user
 * who writes the query by hand would run it.
 *   node bench/pit-baseline-run.mjs <asof|feast> <out.parquet> <entities.parquet> <ttlSeconds> <view=source.parquet[@created_column]>...
 * `asof`: DuckDB's ASOF LEFT JOIN per view (latest row at or before t, then the TTL check).
 * `feast`: the structure of Feast's point-in-time template (MULTIPLE_FEATURE_VIEW_POINT_IN_TIME_JOIN
 * of its Snowflake/Redshift/Athena offline stores) written for DuckDB: see feastSql.
 * Output: the entity columns, then `<view>__value`, `<view>__bucket` per view, in entity file order.
 */
import { DuckDBInstance } from '@duckdb/node-api';

const usage =
  'usage: pit-baseline-run.mjs <asof|feast> <out> <entities> <ttlSeconds> <view=file[@created_column]>...';
const [mode, out, entities, ttlText, ...viewArgs] = process.argv.slice(2);
if (
  !['asof', 'feast'].includes(mode ?? '') ||
  !out ||
  !entities ||
  !ttlText ||
  viewArgs.length === 0
)
  throw new Error(usage);
const ttl = Number(ttlText);
if (!Number.isInteger(ttl) || ttl <= 0)
  throw new Error(
    `ttlSeconds must be a positive whole number of seconds, got ${JSON.stringify(ttlText)}`,
  );
const views = viewArgs.map((arg) => {
  const match = /^([a-z][a-z0-9_]*)=([^@]+)(?:@([a-z][a-z0-9_]*))?$/.exec(arg);
  if (!match)
    throw new Error(
      `view argument ${JSON.stringify(arg)} is not <view>=<file>[@<created column>]; ${usage}`,
    );
  const [, name, file, created] = match;
  if (created && mode === 'asof')
    throw new Error(
      `view ${name}: the asof baseline has no created-time tie-break, so it takes no @${created}`,
    );
  return { name, file, created };
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

/**
 * Feast's template, step for step, per view `v` (its names; `bounds` is the entity rows' time
 * range, which Feast also reads with a query of its own before rendering the template):
 * - entity_dataframe: every entity row, with `entity_timestamp` and, per view, an
 *   `v__entity_row_unique_id` made of the join keys and the timestamp as text;
 * - v__entity_dataframe: the distinct (keys, entity_timestamp, row id) of those rows;
 * - v__subquery: the source's rows inside [min entity time - ttl, max entity time];
 * - v__base: the range join, key equal and `entity_timestamp - ttl <= event_timestamp <= entity_timestamp`;
 * - v__dedup (only for a view with a created column): per row id and event time, the greatest created time;
 * - v__latest: row_number per row id by event time (then created time) descending, the first kept;
 * - v__cleaned: the base rows that are the latest, joined back for their feature values;
 * - last, entity_dataframe LEFT JOIN each view's cleaned rows on its row id.
 * Feast leaves the order to the caller; the ORDER BY on the entity file's row is this bench's,
 * so the result check can compare row by row.
 */
function feastSql(bounds) {
  const rowId = (v) => `"${v.name}__entity_row_unique_id"`;
  const features = (v) => [`"${v.name}__value"`, `"${v.name}__bucket"`];
  const unique = views.map(
    (v) => `CAST(customer_id AS VARCHAR) || CAST(event_timestamp AS VARCHAR) AS ${rowId(v)}`,
  );
  const perView = views.map((v) => {
    const id = rowId(v);
    const created = v.created ? `${v.created} AS created_timestamp, ` : '';
    const tieBreak = v.created ? ', created_timestamp DESC' : '';
    const winnerKey = v.created
      ? `${id}, event_timestamp, created_timestamp`
      : `${id}, event_timestamp`;
    const dedup = v.created
      ? `"${v.name}__dedup" AS (
          SELECT ${id}, event_timestamp, max(created_timestamp) AS created_timestamp
          FROM "${v.name}__base" GROUP BY ${id}, event_timestamp),`
      : '';
    const ranked = v.created
      ? `"${v.name}__base" JOIN "${v.name}__dedup" USING (${winnerKey})`
      : `"${v.name}__base"`;
    return `"${v.name}__entity_dataframe" AS (
        SELECT customer_id, entity_timestamp, ${id} FROM entity_dataframe
        GROUP BY customer_id, entity_timestamp, ${id}),
      "${v.name}__subquery" AS (
        SELECT event_ts AS event_timestamp, ${created}customer_id, value AS ${features(v)[0]}, bucket AS ${features(v)[1]}
        FROM read_parquet(${literal(v.file)})
        WHERE event_ts <= TIMESTAMP '${bounds.max}' AND event_ts >= TIMESTAMP '${bounds.min}'),
      "${v.name}__base" AS (
        SELECT s.*, e.entity_timestamp, e.${id}
        FROM "${v.name}__subquery" s JOIN "${v.name}__entity_dataframe" e
          ON s.event_timestamp <= e.entity_timestamp
         AND s.event_timestamp >= e.entity_timestamp - INTERVAL '${ttl}' SECOND
         AND s.customer_id = e.customer_id),
      ${dedup}
      "${v.name}__latest" AS (
        SELECT ${winnerKey} FROM (
          SELECT *, row_number() OVER (PARTITION BY ${id} ORDER BY event_timestamp DESC${tieBreak}) AS row_number
          FROM ${ranked})
        WHERE row_number = 1),
      "${v.name}__cleaned" AS (
        SELECT base.* FROM "${v.name}__base" base JOIN "${v.name}__latest" USING (${winnerKey}))`;
  });
  const joins = views.map(
    (v) =>
      `LEFT JOIN (SELECT ${rowId(v)}, ${features(v).join(', ')} FROM "${v.name}__cleaned") USING (${rowId(v)})`,
  );
  return `WITH entity_dataframe AS (
      SELECT *, event_timestamp AS entity_timestamp, ${unique.join(', ')} FROM (${entityRows})),
    ${perView.join(',\n')}
    SELECT customer_id, event_timestamp, label, ${views.flatMap(features).join(', ')}
    FROM entity_dataframe ${joins.join(' ')} ORDER BY fstore_row`;
}

/** Feast's entity time range, the query it runs before rendering the template; the lower end less the TTL. */
async function entityBounds(connection) {
  const reader = await connection.runAndReadAll(
    `SELECT CAST(min(event_timestamp) - INTERVAL '${ttl}' SECOND AS VARCHAR), CAST(max(event_timestamp) AS VARCHAR) FROM read_parquet(${literal(entities)})`,
  );
  const [min, max] = reader.getRows()[0] ?? [];
  if (min === null || max === null || min === undefined)
    throw new Error(`${entities}: no entity rows with an event_timestamp`);
  return { min, max };
}

const instance = await DuckDBInstance.create(':memory:');
const connection = await instance.connect();
await connection.run("SET TimeZone = 'UTC'");
const sql = mode === 'asof' ? asofSql() : feastSql(await entityBounds(connection));
await connection.run(`COPY (${sql}) TO ${literal(out)} (FORMAT parquet, COMPRESSION zstd)`);
connection.closeSync();
instance.closeSync();
