import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { queryRows } from '../../lib/offline/duckdb-session.ts';
import { ingestRecordsPrefix, ingestRecordsTable } from '../../lib/offline/ingest-records.ts';
import { committedSourceRelation } from '../../lib/sql/athena-dialect.ts';
import { quoteLiteral } from '../../lib/sql/dialect.ts';

/**
 * What fstore's Athena relation of `source` reads from a bucket's objects, run by DuckDB: the
 * bucket becomes the two Glue tables Athena would scan, as Athena builds them, and the relation's
 * SQL runs as rendered for Athena, with one function renamed. Built as Athena builds them:
 * - `"db"."<source>"`: every row of every object `offline/<source>/dt=<day>/<name>` (one level
 *   below the partition folder), its `dt`, and `"$path"` = `s3://<bucket>/<key>` (a hidden
 *   column in Athena, a plain one here);
 * - `"db"."fstore_ingests"`: one row per record object below `offline/_ingests/<source>/`
 *   (path parts starting with `_` or `.` below the location hidden, as Trino does), JSON keys
 *   case-folded as the OpenX SerDe's `case.insensitive` does.
 * Renamed: Trino's `element_at(map, key)` (NULL when absent) is DuckDB's `map_extract_value`.
 */
export async function readThroughAthenaRelation(
  connection: DuckDBConnection,
  options: {
    readonly objects: ReadonlyMap<string, Buffer>;
    readonly bucket: string;
    readonly source: string;
    readonly scratch: string;
    /** A predicate over the relation's columns, e.g. on `dt`. */
    readonly where?: string;
  },
): Promise<Record<string, unknown>[]> {
  const { objects, bucket, source, scratch } = options;
  const database = 'fstore_dev';
  await connection.run(`CREATE SCHEMA IF NOT EXISTS "${database}"`);
  await connection.run(
    `CREATE OR REPLACE TABLE "${database}"."${ingestRecordsTable}" (ingestid VARCHAR, replaces VARCHAR[], kind VARCHAR, source VARCHAR)`,
  );
  const dataPrefix = `offline/${source}/`;
  const parts: string[] = [];
  for (const [key, bytes] of [...objects].sort(([a], [b]) => a.localeCompare(b))) {
    if (key.startsWith(`${ingestRecordsPrefix}${source}/`)) {
      const below = key.slice(ingestRecordsPrefix.length).split('/');
      if (below.some((part) => part.startsWith('_') || part.startsWith('.'))) continue;
      const record = Object.fromEntries(
        Object.entries(JSON.parse(bytes.toString('utf8')) as Record<string, unknown>).map(
          ([k, v]) => [k.toLowerCase(), v],
        ),
      );
      const replaces = Array.isArray(record.replaces)
        ? `[${(record.replaces as string[]).map(quoteLiteral).join(', ')}]::VARCHAR[]`
        : 'NULL';
      await connection.run(
        `INSERT INTO "${database}"."${ingestRecordsTable}" VALUES (${typeof record.ingestid === 'string' ? quoteLiteral(record.ingestid) : 'NULL'}, ${replaces}, ${typeof record.kind === 'string' ? quoteLiteral(record.kind) : 'NULL'}, ${quoteLiteral(source)})`,
      );
      continue;
    }
    if (!key.startsWith(dataPrefix)) continue;
    const relative = key.slice(dataPrefix.length).split('/');
    const day = /^dt=(\d{4}-\d{2}-\d{2})$/.exec(relative[0] ?? '')?.[1];
    if (relative.length !== 2 || !day) continue;
    const file = path.join(scratch, `obj-${parts.length}-${path.posix.basename(key)}`);
    await writeFile(file, bytes);
    parts.push(
      `SELECT *, ${quoteLiteral(day)} AS dt, ${quoteLiteral(`s3://${bucket}/${key}`)} AS "$path" FROM read_parquet(${quoteLiteral(file)})`,
    );
  }
  await connection.run(
    parts.length > 0
      ? `CREATE OR REPLACE TABLE "${database}"."${source}" AS ${parts.join(' UNION ALL BY NAME ')}`
      : `CREATE OR REPLACE TABLE "${database}"."${source}" (fstore_seq BIGINT, dt VARCHAR, "$path" VARCHAR)`,
  );
  const relation = committedSourceRelation(database, source);
  const forDuckdb = relation.replaceAll('element_at(', 'map_extract_value(');
  if (forDuckdb.split('map_extract_value(').length !== 3)
    throw new Error('the relation no longer has the two map lookups this emulation renames');
  return queryRows(
    connection,
    `SELECT * EXCLUDE ("$path"), "$path" AS object FROM ${forDuckdb} AS r${options.where ? ` WHERE ${options.where}` : ''} ORDER BY fstore_seq, object`,
  );
}
