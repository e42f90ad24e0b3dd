import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { stagingColumns } from '../../lib/push/firehose-staging.ts';
import type { MemoryBucket } from './s3-memory-bucket.ts';

// 2026-03-01T12:00:00.123456Z as Firehose stores it: epoch microseconds.
const t0 = 1772366400123456n;
let fileNumber = 0;

/**
 * Places a Parquet object as Firehose writes it for `payments` or `audit` of pushRegistry() in
 * its staging prefix, written by DuckDB in `scratch`. Returns its key.
 */
export async function stagePushObject(
  target: {
    readonly bucket: MemoryBucket;
    readonly duckdb: DuckDBConnection;
    readonly scratch: string;
  },
  source: 'payments' | 'audit',
  name: string,
  rows: readonly {
    readonly pushId: string;
    readonly customer: string;
    readonly amount?: number;
    /** fstore_push_tiled; the object has no such column unless a row gives one (staged before it). */
    readonly tiled?: boolean | null;
    /** fstore_push_tiles; the object has no such column unless a row gives one (staged before it). */
    readonly tiles?: readonly string[] | null;
  }[],
): Promise<string> {
  const n = fileNumber++;
  const local = path.join(target.scratch, `staged-${n}.parquet`);
  const flagged = rows.some((r) => r.tiled !== undefined);
  const listed = rows.some((r) => r.tiles !== undefined);
  const tiles = (r: (typeof rows)[number]) =>
    r.tiles === undefined || r.tiles === null
      ? 'NULL::VARCHAR[]'
      : `[${r.tiles.map((t) => `'${t}'`).join(', ')}]::VARCHAR[]`;
  const flag = (r: (typeof rows)[number]) =>
    (flagged ? `, ${r.tiled ?? 'NULL'}::BOOLEAN` : '') + (listed ? `, ${tiles(r)}` : '');
  const values = rows.map((r, i) =>
    source === 'payments'
      ? `('${r.customer}', 7::BIGINT, ${r.amount ?? 12.5}::DOUBLE, 'ok', false, [0.5]::FLOAT[], ${t0}::BIGINT, ${t0}::BIGINT, '${r.pushId}', ${i}::INTEGER, NULL::VARCHAR${flag(r)})`
      : `('${r.customer}', 'note', ${t0}::BIGINT, '${r.pushId}', ${i}::INTEGER, NULL::VARCHAR${flag(r)})`,
  );
  const columns =
    source === 'payments'
      ? 'customer_id, account_id, amount, status, flagged, scores, event_ts, created_ts'
      : 'customer_id, note, event_ts';
  await target.duckdb.run(
    `COPY (SELECT * FROM (VALUES ${values.join(', ')}) v(${columns}, fstore_push_id, fstore_push_row, fstore_idempotency_key${flagged ? ', fstore_push_tiled' : ''}${listed ? ', fstore_push_tiles' : ''})) TO '${local}' (FORMAT parquet)`,
  );
  const second = String(n % 60).padStart(2, '0');
  const key = `offline/_push/${source}/arrived=2026-03-01/fstore-dev-push-${source}-1-2026-03-01-12-00-${second}-${name}.parquet`;
  target.bucket.objects.set(key, await readFile(local));
  return key;
}

/** A staging table column's Hive type (lib/push/firehose-staging.ts stagingHiveType) in DuckDB. */
function duckdbTypeOfHive(type: string): string {
  const array = /^array<(.+)>$/.exec(type);
  if (array) return `${duckdbTypeOfHive(array[1] as string)}[]`;
  const scalar: Record<string, string> = {
    int: 'INTEGER',
    bigint: 'BIGINT',
    float: 'FLOAT',
    double: 'DOUBLE',
    string: 'VARCHAR',
    boolean: 'BOOLEAN',
  };
  const found = scalar[type];
  if (!found) throw new Error(`no DuckDB type for the staging type ${type}`);
  return found;
}

/**
 * Places the JSON records the push Lambda sent to Firehose (firehoseRecords) as one Parquet
 * object of `source`'s staging prefix, converted against its staging table's columns as
 * Firehose's record format conversion does. `arrivedSecond` (0-59) is the second of 12:00 in
 * the object's name: compaction takes objects in the order of that time. Returns its key.
 */
export async function stageFirehoseRecords(
  target: {
    readonly bucket: MemoryBucket;
    readonly duckdb: DuckDBConnection;
    readonly scratch: string;
  },
  source: {
    readonly name: string;
    readonly schema: Parameters<typeof stagingColumns>[0]['schema'];
  },
  arrivedSecond: number,
  records: readonly string[],
): Promise<string> {
  const n = fileNumber++;
  const json = path.join(target.scratch, `firehose-${n}.jsonl`);
  const local = path.join(target.scratch, `firehose-${n}.parquet`);
  await writeFile(json, `${records.join('\n')}\n`);
  const columns = stagingColumns(source)
    .map((c) => `'${c.name}': '${duckdbTypeOfHive(c.type)}'`)
    .join(', ');
  await target.duckdb.run(
    `COPY (SELECT * FROM read_json('${json}', format = 'newline_delimited', columns = {${columns}})) TO '${local}' (FORMAT parquet)`,
  );
  const second = String(arrivedSecond).padStart(2, '0');
  const key = `offline/_push/${source.name}/arrived=2026-03-01/fstore-dev-push-${source.name}-1-2026-03-01-12-00-${second}-firehose-${n}.parquet`;
  target.bucket.objects.set(key, await readFile(local));
  return key;
}
