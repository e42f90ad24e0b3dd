import { createHash } from 'node:crypto';
import type { ValueType } from '../definitions/value-types.ts';

/**
 * Where and how pushed rows wait on AWS before compaction makes them part of the offline store
 * (docs/adr/0016-offline-push-on-aws.md). Shared by the stack (streams, staging tables, grants),
 * the push Lambda (record shape) and `fstore compact --env <aws>` (listing, reading), so the
 * three cannot drift apart.
 */

/** Firehose writes a source's Parquet objects here: outside every reader's relation. */
export function pushStagingPrefix(source: string): string {
  return `offline/_push/${source}/`;
}

/** Records Firehose could not convert or deliver, for a person to read; compaction never lists them. */
export function pushErrorPrefix(source: string): string {
  return `offline/_push-errors/${source}/`;
}

/** Compaction's own objects below the staging prefix (batch manifests, the delivered-rows ledger). */
export function pushBatchPrefix(source: string): string {
  return `${pushStagingPrefix(source)}_batches/`;
}

export function pushLedgerPrefix(source: string): string {
  return `${pushStagingPrefix(source)}_ledger/`;
}

/**
 * Staged objects the ingest refused (a constraint tightened since the push, a damaged object),
 * moved aside with a `.reason.json` beside each, for a person to read: never ingested again.
 */
export function pushRefusedPrefix(source: string): string {
  return `${pushStagingPrefix(source)}_refused/`;
}

/**
 * The Glue table Firehose converts a source's records against. Source names cannot start with
 * `fstore_`, so no source table can take this name.
 */
export function pushStagingTable(source: string): string {
  return `fstore_push_${source}`;
}

/**
 * The delivery stream of one source: `fstore-<env>-push-<source>`, or (over Firehose's 64
 * characters) its first 55 characters and 8 hex of its hash, so long names stay distinct.
 */
export function pushStreamName(env: string, source: string): string {
  const full = `fstore-${env}-push-${source}`;
  if (full.length <= 64) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 8);
  return `${full.slice(0, 55)}-${hash}`;
}

/** Columns every staged record carries besides the source's: compaction keeps one row per (id, row). */
export const pushIdColumn = 'fstore_push_id';
/** The row's position in its push's `rows`. */
export const pushRowColumn = 'fstore_push_row';
/** The Idempotency-Key the push carried, if any (for people tracing a push; not used to dedupe). */
export const pushIdempotencyKeyColumn = 'fstore_idempotency_key';
/**
 * Whether the push applied the row to the tiles of aggregation views (ADR 0020): compaction
 * keeps it in the commit record (IngestRecord.pushTiledRows). NULL, in objects staged before
 * the column, reads as tiled, as every pushed row was then.
 */
export const pushTiledColumn = 'fstore_push_tiled';
/**
 * The tile-fed view versions (tile item prefixes, `<view>#<version>`) the push applied the row
 * to (ADR 0020): compaction keeps them in the commit record (IngestRecord.pushTiledRowsByView),
 * so each view version's base counts the rows its own tiles do not hold. NULL, in objects staged
 * before the column, leaves the row to `fstore_push_tiled` (tiled for every view version or
 * none).
 */
export const pushTilesColumn = 'fstore_push_tiles';
/**
 * The push's place in the ingest order, `<stamp>-<push id>` (the push time to the millisecond,
 * as a log name's stamp; lib/push/staged-push-key.ts): compaction gives a batch's rows their
 * `fstore_seq` in this order, as online the push time's clock sequence ranks them (ADR 0020,
 * "Ties for `last`"). NULL, in objects staged before the column: arrival order, before keyed rows.
 */
export const pushKeyColumn = 'fstore_push_key';

/**
 * A source column's Hive type in the staging table. Timestamps are `bigint` epoch microseconds:
 * Firehose parses timestamp text with `java.sql.Timestamp.valueOf` in its own time zone or with
 * Joda patterns (milliseconds only), and writes Parquet INT96; a number is exact to the
 * microsecond and compaction turns it into the source's `timestamp` itself.
 */
export function stagingHiveType(type: ValueType): string {
  const list = /^list<(.+)>$/.exec(type);
  if (list) return `array<${stagingHiveType(list[1] as ValueType)}>`;
  const mapped = stagingScalar[type];
  if (!mapped) throw new Error(`no staging type for ${type}`);
  return mapped;
}

const stagingScalar: Record<string, string> = {
  int32: 'int',
  int64: 'bigint',
  float32: 'float',
  float64: 'double',
  string: 'string',
  bool: 'boolean',
  timestamp: 'bigint',
};

/** The staging table's columns: the source's schema names, then the push identity columns. */
export function stagingColumns(source: {
  readonly schema: readonly { readonly name: string; readonly type: ValueType }[];
}): { name: string; type: string }[] {
  return [
    ...source.schema.map((c) => ({ name: c.name, type: stagingHiveType(c.type) })),
    { name: pushIdColumn, type: 'string' },
    { name: pushRowColumn, type: 'int' },
    { name: pushIdempotencyKeyColumn, type: 'string' },
    { name: pushTiledColumn, type: 'boolean' },
    { name: pushTilesColumn, type: 'array<string>' },
    { name: pushKeyColumn, type: 'string' },
  ];
}
