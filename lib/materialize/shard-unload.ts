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
 * One Athena UNLOAD of a sharded run's rows to Parquet under `location`, one
 * `fstore_shard=<i>/` folder per shard, for a Distributed Map of writers to read. Not wired to
 * a state machine yet (docs/scale.md); the local run reads each shard with its own query.
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
  return `UNLOAD (${renderShardedRows(query, dialect, shards)}) TO ${quoteLiteral(location)} WITH (format = 'PARQUET', compression = 'SNAPPY', partitioned_by = ARRAY['fstore_shard'])`;
}
