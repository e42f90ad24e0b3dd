import type { ValueType } from '../definitions/value-types.ts';
import { parseEpochMicros } from '../epoch-micros.ts';
import type { RuntimeSource } from '../registry/runtime-projection.ts';
import {
  pushIdColumn,
  pushIdempotencyKeyColumn,
  pushKeyColumn,
  pushRowColumn,
  pushTiledColumn,
  pushTilesColumn,
} from './firehose-staging.ts';
import { stagedPushKey } from './staged-push-key.ts';
import type { PushRow } from './validate-push-rows.ts';

/**
 * A push's identity offline, as executePush passes it to the offline hook: its id (the
 * Idempotency-Key's scope for a keyed push, so every retry shares it) and the key, if any.
 */
export interface PushIdentity {
  readonly pushId: string;
  readonly idempotencyKey?: string;
  /**
   * The tile-fed view versions (tile item prefixes) the push applies the rows to (ADR 0020);
   * absent: both tile columns NULL, read as tiled for every view version.
   */
  readonly tiles?: readonly string[];
  /**
   * The push time (epoch ms) its online items and tiles are ranked by (the clock sequence):
   * staged as `fstore_push_key` with the push id, so compaction commits pushes in that order.
   * Absent: the column is NULL (arrival order).
   */
  readonly pushedAtMs?: number;
}

/**
 * One Firehose record per row: a JSON object keyed by the staging table's columns (the source's
 * schema names, ADR 0016). Timestamps are epoch microseconds and int64 values are JSON numbers
 * written digit for digit (Firehose's JSON parser reads them as Java longs, so nothing past
 * 2^53 is rounded). Each record carries the push id and its row index: compaction keeps one
 * row per (push id, row), so a keyed push retried after a failure lands offline once.
 */
export function firehoseRecords(
  source: Pick<RuntimeSource, 'name' | 'schema'>,
  rows: readonly PushRow[],
  identity: PushIdentity,
): string[] {
  const bodies = rows.map((row) =>
    source.schema.map((c) => `${JSON.stringify(c.name)}:${jsonValue(c.type, row.values[c.name])}`),
  );
  const common = [
    `${JSON.stringify(pushIdColumn)}:${JSON.stringify(identity.pushId)}`,
    `${JSON.stringify(pushIdempotencyKeyColumn)}:${
      identity.idempotencyKey === undefined ? 'null' : JSON.stringify(identity.idempotencyKey)
    }`,
    // The flag too, for a staged-push compaction older than the list (it reads rows as tiled
    // for every view version, as before, or as untiled).
    `${JSON.stringify(pushTiledColumn)}:${identity.tiles === undefined ? 'null' : identity.tiles.length > 0}`,
    `${JSON.stringify(pushTilesColumn)}:${identity.tiles === undefined ? 'null' : JSON.stringify(identity.tiles)}`,
    `${JSON.stringify(pushKeyColumn)}:${
      identity.pushedAtMs === undefined
        ? 'null'
        : JSON.stringify(stagedPushKey(identity.pushedAtMs, identity.pushId))
    }`,
  ];
  return bodies.map(
    (fields, index) =>
      `{${[...fields, ...common, `${JSON.stringify(pushRowColumn)}:${index}`].join(',')}}`,
  );
}

function jsonValue(type: ValueType | string, value: unknown): string {
  if (value === null || value === undefined) return 'null';
  const list = /^list<(.+)>$/.exec(type);
  if (list && Array.isArray(value))
    return `[${value.map((v) => jsonValue(list[1] as string, v)).join(',')}]`;
  if (type === 'timestamp') {
    const micros = typeof value === 'string' ? parseEpochMicros(value) : undefined;
    if (micros === undefined) throw new Error(`internal: unchecked timestamp ${String(value)}`);
    return micros.toString();
  }
  if (type === 'int64' && (typeof value === 'bigint' || typeof value === 'string'))
    return BigInt(value).toString();
  return JSON.stringify(value);
}
