import type { Dialect } from '../sql/dialect.ts';
import { quoteLiteral } from '../sql/dialect.ts';
import { renderShardOf } from '../sql/render-shard.ts';
import { type LatestRowsQuery, renderMaterializationRows } from './row-source.ts';

/**
 * Athena documents 100 partitions per CTAS query (HIVE_TOO_MANY_OPEN_PARTITIONS, 100 open
 * writers); UNLOAD writes partitions the same way, so it is held to the same limit here.
 */
const maxUnloadPartitions = 100;

/**
 * A run's rows for every shard in one query: the unsharded materialization rows plus their
 * shard as the last column `fstore_shard` (issue 21, the AWS design in docs/scale.md: one scan
 * of the source, whatever the shard count).
 */
export function renderShardedRows(
  query: Pick<LatestRowsQuery, 'view' | 'window'>,
  dialect: Dialect,
  shards: number,
): string {
  const rows = renderMaterializationRows({ view: query.view, window: query.window }, dialect);
  const shard = renderShardOf(query.view.joinKeys, dialect, shards);
  return `SELECT fstore_rows.*, ${shard} AS fstore_shard FROM (\n${rows}\n) fstore_rows`;
}

/**
 * A sharded run's rows with every value as text, the shard last: Athena's UNLOAD writes JSON
 * numbers as doubles and timestamps by its own format, so the writer would lose bigints past
 * 2^53; as text each value reads back exactly as the single-Lambda path reads Athena's result
 * (typedValue by the column's type), lists as JSON text as there.
 */
export function renderUnloadColumns(
  query: Pick<LatestRowsQuery, 'view' | 'window'>,
  dialect: Dialect,
  shards: number,
): string {
  const q = dialect.quote;
  const text = (column: string) => `CAST(${column} AS VARCHAR) AS ${column}`;
  const columns = [
    ...query.view.joinKeys.map((k) => text(q(k.name))),
    ...query.view.features.map((f) =>
      f.type.startsWith('list<')
        ? `json_format(CAST(${q(f.outputName)} AS JSON)) AS ${q(f.outputName)}`
        : text(q(f.outputName)),
    ),
    text('event_ts'),
    text('created_ts'),
    text('fstore_seq'),
    'fstore_shard',
  ];
  return `SELECT ${columns.join(', ')} FROM (\n${renderShardedRows(query, dialect, shards)}\n) fstore_unload`;
}

/**
 * One Athena UNLOAD of a sharded run's rows to gzip JSON lines under `location`, one
 * `fstore_shard=<i>/` folder per shard, which the shard writers of the Distributed Map read
 * with node:zlib (no Parquet reader in the Lambda bundle; docs/adr/0022-sharded-materialization-on-aws.md).
 */
export function renderShardUnload(
  query: Pick<LatestRowsQuery, 'view' | 'window'>,
  dialect: Dialect,
  shards: number,
  location: string,
): string {
  if (!/^s3:\/\/[^/]+\/(?:[^']*\/)?$/.test(location))
    throw new Error(
      `the UNLOAD location of ${query.view.view} must be an S3 folder (s3://bucket/prefix/), got ${location}`,
    );
  if (shards > maxUnloadPartitions)
    throw new Error(
      `an UNLOAD writes at most ${maxUnloadPartitions} partitions; ${query.view.view} asked for ${shards} shards`,
    );
  return `UNLOAD (${renderUnloadColumns(query, dialect, shards)}) TO ${quoteLiteral(location)} WITH (format = 'JSON', compression = 'GZIP', partitioned_by = ARRAY['fstore_shard'])`;
}
