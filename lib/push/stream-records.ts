import type { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { ApiError } from '../api/api-error.ts';
import { microsOfMillis } from '../epoch-micros.ts';
import type { RuntimeRegistry, RuntimeSource } from '../registry/runtime-projection.ts';
import type { ViewTileRows } from './push-tiles.ts';
import { type PushRow, validatePushRows } from './validate-push-rows.ts';
import { buildOnlinePush, type OnlinePushTarget } from './write-push-online.ts';

/** The parts of a Lambda Kinesis event record fstore reads. */
export interface KinesisEventRecord {
  /** `shardId-000000000000:<sequence number>`. */
  readonly eventID?: string;
  readonly kinesis: {
    /** The record's bytes, base64. */
    readonly data: string;
    readonly sequenceNumber: string;
    readonly partitionKey: string;
    /** Epoch seconds (with a fraction). */
    readonly approximateArrivalTimestamp?: number;
  };
}

export interface KinesisStreamEvent {
  readonly Records: readonly KinesisEventRecord[];
}

/** Where a record came from, kept with it in quarantine so it can be found in the stream. */
export interface RecordPosition {
  readonly shardId?: string;
  readonly sequenceNumber: string;
  readonly partitionKey: string;
  readonly approximateArrivalTimestamp?: string;
}

/** A record whose row passed every push rule, with the puts of every online view built. */
export interface AcceptedRecord {
  readonly kind: 'accepted';
  readonly row: PushRow;
  /** The row's columns in schema order: equal text, equal row. */
  readonly content: string;
  readonly puts: readonly { readonly view: string; readonly put: PutItemCommand }[];
  /** The row for the tiles of every online aggregation view, with the record's id (ADR 0020). */
  readonly tiles: readonly ViewTileRows[];
}

/** A record that can never be written: not UTF-8, not JSON, or a row a push would refuse. */
export interface RejectedRecord {
  readonly kind: 'rejected';
  readonly reason: string;
  /** The parsed JSON, else the text, else the bytes as base64. */
  readonly data: unknown;
}

/** Where stream records that can never be written are kept, under the offline bucket. */
export const streamQuarantinePrefix = 'quarantine/_stream/';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * One stream record as one push row of `source`: base64 → UTF-8 → JSON object → the push
 * rules (validatePushRows) → the online views' conditional puts (buildOnlinePush). Any refusal
 * is a RejectedRecord with the reason, never an exception: retrying would refuse it again.
 */
export function readStreamRecord(
  record: KinesisEventRecord,
  context: {
    readonly registry: RuntimeRegistry;
    readonly source: RuntimeSource;
    readonly target: OnlinePushTarget;
    readonly nowMs: number;
    readonly maxFutureSkewSeconds: number;
  },
): AcceptedRecord | RejectedRecord {
  const bytes = Buffer.from(record.kinesis.data, 'base64');
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return rejected('the record is not UTF-8 text', bytes.toString('base64'));
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return rejected(`the record is not JSON: ${(error as Error).message}`, text);
  }
  try {
    const [row] = validatePushRows(context.registry, context.source, [json], {
      nowMicros: microsOfMillis(context.nowMs),
      maxFutureSkewSeconds: context.maxFutureSkewSeconds,
    });
    if (!row) throw new Error('internal: a validated record gave no row');
    // A replayed record has the same shard and sequence number: its tiles count it once.
    const id = `${record.eventID?.split(':')[0] ?? 'shard'}:${record.kinesis.sequenceNumber}`;
    const plan = buildOnlinePush(context.target, context.source.name, [row], () => id);
    return {
      kind: 'accepted',
      row,
      content: JSON.stringify(
        context.source.schema.map((c) => row.values[c.name]),
        (_, v) => (typeof v === 'bigint' ? v.toString() : v),
      ),
      puts: plan.views.flatMap(({ view, puts }) => puts.map((put) => ({ view: view.name, put }))),
      tiles: plan.tiles,
    };
  } catch (error) {
    if (!(error instanceof ApiError) || error.status >= 500) throw error;
    return rejected(rowReason(error), json);
  }
}

/** Where the record sits in its stream. */
export function recordPosition(record: KinesisEventRecord): RecordPosition {
  const shardId = record.eventID?.split(':')[0];
  const arrival = record.kinesis.approximateArrivalTimestamp;
  return {
    ...(shardId ? { shardId } : {}),
    sequenceNumber: record.kinesis.sequenceNumber,
    partitionKey: record.kinesis.partitionKey,
    ...(arrival === undefined
      ? {}
      : { approximateArrivalTimestamp: new Date(arrival * 1000).toISOString() }),
  };
}

function rejected(reason: string, data: unknown): RejectedRecord {
  return { kind: 'rejected', reason, data };
}

/** `status: is missing; send null for no value`: the push's reason without its `$.rows[0]` path. */
function rowReason(error: ApiError): string {
  const { field, reason } = error.details as { field?: unknown; reason?: unknown };
  if (typeof reason !== 'string') return error.message.replace(/^\$\.rows\[0\]\.?/, '');
  return typeof field === 'string' ? `${field}: ${reason}` : reason;
}
