import { writeFile } from 'node:fs/promises';
import type { DuckDBConnection } from '@duckdb/node-api';
import {
  pushIdColumn,
  pushKeyColumn,
  pushRowColumn,
  pushTiledColumn,
  pushTilesColumn,
} from '../push/firehose-staging.ts';
import type { TiledRowRuns } from '../push/tiled-push-rows.ts';
import type { RegistrySource } from '../registry/index.ts';
import { quoteIdentifier, quoteLiteral } from '../sql/dialect.ts';
import { queryRows } from './duckdb-session.ts';

/** One pushed row's identity: compaction keeps each (push id, row) once. */
export interface DeliveredRow {
  readonly pushId: string;
  readonly row: number;
}

/**
 * Turns the Parquet objects Firehose staged for a source (ADR 0016) into one JSON-lines file
 * `ingestFile` reads like a push log: the source's columns under their raw names (ingest
 * applies `fieldMapping`), timestamps as UTC text with microseconds (the staging table holds
 * epoch microseconds), int64 as decimal text. Rows are in the order of their pushes' keys
 * (`fstore_push_key`: the push time, which ranks them online, then the push id), so
 * `fstore_seq` follows the pushes' clocks even when Firehose delivered a later push's records
 * first (ADR 0020, "Ties for `last`"); rows without a key (staged before the column) first, and
 * within a key (or none) arrival order: the objects in the order given, then each object's row
 * order. A (push id, row)
 * already in `delivered` (committed by an earlier batch) or seen earlier in this batch is left
 * out: Firehose may deliver a record twice, and a keyed push's retry carries the same id.
 * Columns an object lacks (written before `fstore apply` added them) are NULL.
 */
export async function writeStagedBatch(
  connection: DuckDBConnection,
  source: Pick<RegistrySource, 'schema' | 'fieldMapping'>,
  objects: readonly string[],
  delivered: readonly DeliveredRow[],
  output: string,
): Promise<{
  rows: number;
  duplicates: number;
  identities: DeliveredRow[];
  /**
   * `[start, end)` offsets of the output's rows their pushes applied to tiles (ADR 0020): of
   * every view version, and by tile prefix.
   */
  tiledRows: TiledRowRuns;
  /**
   * Each keyed push's first row offset in the output and its key (IngestRecord.pushLogs), in
   * output order: the commit record names them, so a tile base knows which pushes were committed
   * before each of its rows (ADR 0020, "Ties for `last`"). Rows without a key are not named.
   */
  pushLogs: [number, string][];
}> {
  const files = `[${objects.map(quoteLiteral).join(', ')}]`;
  await connection.run(
    `CREATE OR REPLACE TEMP TABLE fstore_staged AS SELECT * FROM read_parquet(${files}, union_by_name = true, filename = true, file_row_number = true)`,
  );
  const present = new Set(
    (await queryRows(connection, 'DESCRIBE fstore_staged')).map((r) => String(r.column_name)),
  );
  for (const column of [pushIdColumn, pushRowColumn])
    if (!present.has(column))
      throw new Error(
        `staged push objects carry no ${column} column: not written by fstore's push`,
      );
  await connection.run(
    'CREATE OR REPLACE TEMP TABLE fstore_delivered (push_id VARCHAR, push_row INTEGER)',
  );
  for (let start = 0; start < delivered.length; start += 1000) {
    const values = delivered
      .slice(start, start + 1000)
      .map((d) => `(${quoteLiteral(d.pushId)}, ${Math.trunc(d.row)})`)
      .join(', ');
    await connection.run(`INSERT INTO fstore_delivered VALUES ${values}`);
  }
  const order = objects.map((o, i) => `WHEN ${quoteLiteral(o)} THEN ${i}`).join(' ');
  await connection.run(`CREATE OR REPLACE TEMP TABLE fstore_kept AS
    SELECT * FROM (
      SELECT *, CASE filename ${order} END AS fstore_object_order,
        row_number() OVER (PARTITION BY ${quoteIdentifier(pushIdColumn)}, ${quoteIdentifier(pushRowColumn)}
          ORDER BY CASE filename ${order} END, file_row_number) AS fstore_copy
      FROM fstore_staged
    ) s
    WHERE fstore_copy = 1 AND NOT EXISTS (
      SELECT 1 FROM fstore_delivered d
      WHERE d.push_id = s.${quoteIdentifier(pushIdColumn)} AND d.push_row = s.${quoteIdentifier(pushRowColumn)})`);
  const [counts] = await queryRows(
    connection,
    'SELECT (SELECT count(*) FROM fstore_staged) AS staged, (SELECT count(*) FROM fstore_kept) AS kept',
  );
  const staged = Number(counts?.staged ?? 0);
  const rows = Number(counts?.kept ?? 0);
  const identities = (
    await queryRows(
      connection,
      `SELECT ${quoteIdentifier(pushIdColumn)} AS push_id, ${quoteIdentifier(pushRowColumn)} AS push_row FROM fstore_kept`,
    )
  ).map((r) => ({ pushId: String(r.push_id), row: Number(r.push_row) }));
  if (rows === 0) {
    await writeFile(output, '');
    return {
      rows,
      duplicates: staged,
      identities,
      tiledRows: { every: [], byView: {} },
      pushLogs: [],
    };
  }
  const rowOrder = outputOrder(present);
  const tiledRows = await tiledRuns(connection, present, rowOrder);
  const pushLogs = present.has(pushKeyColumn) ? await pushKeyStarts(connection, rowOrder) : [];
  const rawName = new Map(Object.entries(source.fieldMapping).map(([raw, name]) => [name, raw]));
  const select = source.schema.map((c) => {
    const value = present.has(c.name) ? columnText(c.name, c.type) : 'NULL';
    return `${value} AS ${quoteIdentifier(rawName.get(c.name) ?? c.name)}`;
  });
  await connection.run(
    `COPY (SELECT ${select.join(', ')} FROM fstore_kept ORDER BY ${rowOrder}) TO ${quoteLiteral(output)} (FORMAT json)`,
  );
  return { rows, duplicates: staged - rows, identities, tiledRows, pushLogs };
}

/** The output offset of each push key's first row (a key's rows are consecutive in the order). */
async function pushKeyStarts(
  connection: DuckDBConnection,
  rowOrder: string,
): Promise<[number, string][]> {
  const key = quoteIdentifier(pushKeyColumn);
  const starts = await queryRows(
    connection,
    `SELECT ${key} AS push_key, min(i) AS first FROM (
       SELECT ${key}, row_number() OVER (ORDER BY ${rowOrder}) - 1 AS i FROM fstore_kept)
     WHERE ${key} IS NOT NULL GROUP BY ${key} ORDER BY first`,
  );
  return starts.map((r) => [Number(r.first), String(r.push_key)]);
}

/** The output's row order over `fstore_kept`: by push key (NULL first), then arrival. */
function outputOrder(present: ReadonlySet<string>): string {
  const arrival = 'fstore_object_order, file_row_number';
  return present.has(pushKeyColumn)
    ? `${quoteIdentifier(pushKeyColumn)} NULLS FIRST, ${arrival}`
    : arrival;
}

/**
 * The runs of tiled rows in the output's order (gaps and islands), by the tile prefixes a row
 * names (`fstore_push_tiles`). A row naming none (NULL: staged before the list, or objects
 * staged before the column) is tiled for every view version when its flag says tiled or is
 * NULL (staged before the flag), as every pushed row was then.
 */
async function tiledRuns(
  connection: DuckDBConnection,
  present: ReadonlySet<string>,
  order: string,
): Promise<TiledRowRuns> {
  const flag = present.has(pushTiledColumn)
    ? `coalesce(${quoteIdentifier(pushTiledColumn)}, true)`
    : 'true';
  const tiles = present.has(pushTilesColumn)
    ? quoteIdentifier(pushTilesColumn)
    : 'CAST(NULL AS VARCHAR[])';
  // prefix NULL: tiled for every view version.
  const runs = await queryRows(
    connection,
    `WITH numbered AS (
       SELECT row_number() OVER (ORDER BY ${order}) - 1 AS i,
         ${tiles} AS tiles, ${flag} AS tiled FROM fstore_kept),
     marks AS (
       SELECT DISTINCT i, unnest(tiles) AS prefix FROM numbered WHERE tiles IS NOT NULL
       UNION ALL SELECT i, NULL AS prefix FROM numbered WHERE tiles IS NULL AND tiled)
     SELECT prefix, min(i) AS first, max(i) + 1 AS next FROM (
       SELECT prefix, i, i - row_number() OVER (PARTITION BY prefix ORDER BY i) AS island FROM marks)
     GROUP BY prefix, island ORDER BY prefix NULLS FIRST, first`,
  );
  const every: [number, number][] = [];
  const byView: Record<string, [number, number][]> = {};
  for (const r of runs) {
    const run: [number, number] = [Number(r.first), Number(r.next)];
    if (r.prefix === null || r.prefix === undefined) every.push(run);
    else byView[String(r.prefix)] = [...(byView[String(r.prefix)] ?? []), run];
  }
  return { every, byView };
}

const isoMicros = (expression: string) =>
  `strftime(make_timestamp(${expression}), '%Y-%m-%dT%H:%M:%S.%fZ')`;

function columnText(name: string, type: string): string {
  const column = quoteIdentifier(name);
  if (type === 'timestamp') return isoMicros(column);
  if (type === 'list<timestamp>') return `list_transform(${column}, x -> ${isoMicros('x')})`;
  if (type === 'int64') return `CAST(${column} AS VARCHAR)`;
  return column;
}
