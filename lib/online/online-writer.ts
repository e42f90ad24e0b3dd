import {
  type AttributeValue,
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { secondsCeil } from '../epoch-micros.ts';
import type { RuntimeFeatureView } from '../registry/runtime-projection.ts';
import { sendConditionalPuts } from './conditional-puts.ts';
import { encodeEntityKey, partitionKey } from './entity-key.ts';
import { int64KeysAsBigint } from './integer-join-keys.ts';
import { itemAttributes as a, encodeValue, ItemCodecError, toEpochMicros } from './item-codec.ts';

/** One entity's newest row of a view, as materialization produces it. */
export interface OnlineRow {
  /** Join-key values and feature values by name. */
  readonly values: Readonly<Record<string, unknown>>;
  readonly eventTs: unknown;
  readonly createdTs?: unknown;
  /** The offline row's ingestion sequence (`fstore_seq`): breaks ties of equal timestamps. */
  readonly seq?: unknown;
}

export interface WriteResult {
  readonly written: number;
  /** Rows not written because the item already holds a newer (or the same) event. */
  readonly skippedAsOlder: number;
}

/**
 * Writes rows of one view version with conditional puts: an item changes only when the new row
 * wins the offline store's rule (later event time, then later created time, then later
 * ingestion). Re-running a write is therefore harmless, and an older row never replaces a newer
 * one.
 */
export async function writeOnlineRows(
  client: DynamoDBClient,
  table: string,
  view: RuntimeFeatureView,
  rows: readonly OnlineRow[],
  options: { now?: () => number; concurrency?: number } = {},
): Promise<WriteResult> {
  const nowMs = (options.now ?? Date.now)();
  const { written, skippedAsOlder } = await sendConditionalPuts(
    client,
    rows.map((row) => putCommand(table, view, row, nowMs)),
    { concurrency: options.concurrency ?? 16 },
  );
  return { written, skippedAsOlder };
}

/** DynamoDB's item size limit: 400 KB, attribute names included. */
export const maxItemBytes = 400 * 1024;

/** A row whose item would pass DynamoDB's 400 KB limit: the materializer quarantines it. */
export class OnlineItemTooLargeError extends ItemCodecError {}

/**
 * The item attribute holding the fingerprint of the definition an item was written under (see
 * lib/materialize/definition-fingerprint.ts). Lookups do not read it (they project the key,
 * `event_ts` and the features), so items without it stay readable.
 */
export const definitionAttribute = 'fstore_def';

/** What identifies the offline row an item holds: its entity key and the winner rule's terms. */
interface RowIdentity {
  readonly where: string;
  readonly pk: string;
  readonly eventTs: bigint;
  readonly createdTs?: bigint;
  /** Decimal text: on S3 sequence numbers pass 2^53. */
  readonly seq?: string;
}

function identityOf(view: RuntimeFeatureView, row: OnlineRow): RowIdentity {
  const entityKey = encodeEntityKey(view.joinKeys, int64KeysAsBigint(view.joinKeys, row.values));
  const where = `${view.name}[${entityKey}]`;
  const createdTs =
    row.createdTs === undefined || row.createdTs === null
      ? undefined
      : toEpochMicros(row.createdTs, `${where}.created_ts`);
  const seq = row.seq === undefined || row.seq === null ? undefined : integerText(row.seq, where);
  return {
    where,
    pk: partitionKey(view.onlineStore.keyPrefix, entityKey),
    eventTs: toEpochMicros(row.eventTs, `${where}.event_ts`),
    ...(createdTs !== undefined ? { createdTs } : {}),
    ...(seq !== undefined ? { seq } : {}),
  };
}

/**
 * Builds the conditional put of one row. Throws an `ItemCodecError` naming the view, entity and
 * field for a value that cannot be stored, and `OnlineItemTooLargeError` for an item over
 * DynamoDB's 400 KB limit, so the caller can quarantine the row instead of losing the batch to
 * DynamoDB's ValidationException.
 *
 * With a `definition` fingerprint the item records it, and the put also replaces an item holding
 * the very same row under another (or no) definition: after a TTL or constraint change a full
 * run rewrites every winner, so `expires_at` follows the new TTL. With `fullRun` it replaces an
 * item of another (or no) definition whatever row it holds: a full run reads every entity's
 * winner under the current definition, which may be older than a row only the old definition
 * produced. Incremental runs read only new ingests' rows, so there a late row must not replace a
 * newer item written before fingerprints.
 */
export function putCommand(
  table: string,
  view: RuntimeFeatureView,
  row: OnlineRow,
  nowMs: number,
  definition?: string,
  fullRun = false,
): PutItemCommand {
  const { where, pk, eventTs, createdTs, seq } = identityOf(view, row);
  const features = Object.fromEntries(
    view.features.map((f) => [
      f.name,
      encodeValue(f.type, row.values[f.name], `${where}.${f.name}`),
    ]),
  );
  // DynamoDB TTL counts whole seconds: round the expiry up, or an item whose event has
  // microseconds past a second could be deleted while reads still count it fresh.
  const expiresAt =
    view.ttlSeconds === undefined ? undefined : Number(secondsCeil(eventTs)) + view.ttlSeconds;
  const sameEvent = tieBreaks(createdTs !== undefined, seq !== undefined)
    .map((terms) => ` OR (#e = :e AND ${terms})`)
    .join('');
  const sameRow = sameRowTerms(createdTs !== undefined, seq !== undefined);
  const otherDefinition = [`attribute_not_exists(#d)`, `#d <> :d`];
  const redefined =
    definition === undefined
      ? ''
      : fullRun
        ? otherDefinition.map((d) => ` OR ${d}`).join('')
        : otherDefinition.map((d) => ` OR (${sameRow} AND ${d})`).join('');
  const item: Record<string, AttributeValue> = {
    [a.key]: { S: pk },
    [a.features]: { M: features },
    [a.eventTs]: { N: eventTs.toString() },
    ...(createdTs !== undefined ? { [a.createdTs]: { N: createdTs.toString() } } : {}),
    ...(seq !== undefined ? { [a.seq]: { N: seq } } : {}),
    [a.materializedAt]: { N: String(nowMs) },
    ...(expiresAt !== undefined ? { [a.expiresAt]: { N: String(expiresAt) } } : {}),
    ...(definition !== undefined ? { [definitionAttribute]: { S: definition } } : {}),
  };
  const size = itemSizeBytes(item);
  if (size > maxItemBytes)
    throw new OnlineItemTooLargeError(
      `${where}: the online item would be at least ${size} bytes, over DynamoDB's item size limit of ${maxItemBytes} bytes (400 KB)`,
      `shorten the view's list or string features, or split them into another view`,
    );
  return new PutItemCommand({
    TableName: table,
    Item: item,
    ConditionExpression: `attribute_not_exists(#pk) OR #e < :e${sameEvent}${redefined}`,
    ExpressionAttributeNames: {
      '#pk': a.key,
      '#e': a.eventTs,
      ...rowNames(createdTs, seq, definition !== undefined && !fullRun),
      ...(definition !== undefined ? { '#d': definitionAttribute } : {}),
    },
    ExpressionAttributeValues: {
      ...rowValues(eventTs, createdTs, seq),
      ...(definition !== undefined ? { ':d': { S: definition } } : {}),
    },
  });
}

/**
 * Deletes the item of `row`'s entity only while it holds exactly that row (same event time,
 * created time and sequence): the materializer sends it for a winner it quarantines, which an
 * earlier definition let through. An item holding any other row (newer, written by another
 * path, or older) is left alone. Throws an `ItemCodecError` when the row's key or times cannot
 * be encoded (then no item can hold it).
 */
export function deleteIfHoldingCommand(
  table: string,
  view: RuntimeFeatureView,
  row: OnlineRow,
): DeleteItemCommand {
  const { pk, eventTs, createdTs, seq } = identityOf(view, row);
  return new DeleteItemCommand({
    TableName: table,
    Key: { [a.key]: { S: pk } },
    ConditionExpression: sameRowTerms(createdTs !== undefined, seq !== undefined),
    ExpressionAttributeNames: { '#e': a.eventTs, ...rowNames(createdTs, seq, true) },
    ExpressionAttributeValues: rowValues(eventTs, createdTs, seq),
  });
}

/** The item holds this very row: a missing created time or sequence must be missing there too. */
function sameRowTerms(created: boolean, seq: boolean): string {
  return [
    '#e = :e',
    created ? '#c = :c' : 'attribute_not_exists(#c)',
    seq ? '#s = :s' : 'attribute_not_exists(#s)',
  ].join(' AND ');
}

function rowNames(
  createdTs: bigint | undefined,
  seq: string | undefined,
  always: boolean,
): Record<string, string> {
  return {
    ...(always || createdTs !== undefined || seq !== undefined ? { '#c': a.createdTs } : {}),
    ...(always || seq !== undefined ? { '#s': a.seq } : {}),
  };
}

function rowValues(
  eventTs: bigint,
  createdTs: bigint | undefined,
  seq: string | undefined,
): Record<string, AttributeValue> {
  return {
    ':e': { N: eventTs.toString() },
    ...(createdTs !== undefined ? { ':c': { N: createdTs.toString() } } : {}),
    ...(seq !== undefined ? { ':s': { N: seq } } : {}),
  };
}

/**
 * An item's size as DynamoDB counts it, rounded up where the documentation is approximate:
 * attribute names and strings by their UTF-8 bytes; a number 1 byte per two significant digits
 * plus 2 (plus 1 when negative); binary by its bytes; null and booleans 1 byte; a list or map 3
 * bytes plus 1 per element (and a map its keys' bytes); sets their elements.
 */
export function itemSizeBytes(item: Readonly<Record<string, AttributeValue>>): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) size += utf8Bytes(name) + valueBytes(value);
  return size;
}

function valueBytes(value: AttributeValue): number {
  if (value.S !== undefined) return utf8Bytes(value.S);
  if (value.N !== undefined) return numberBytes(value.N);
  if (value.B !== undefined) return value.B.byteLength;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.L !== undefined) return 3 + value.L.reduce((sum, v) => sum + 1 + valueBytes(v), 0);
  if (value.M !== undefined)
    return (
      3 + Object.entries(value.M).reduce((sum, [k, v]) => sum + 1 + utf8Bytes(k) + valueBytes(v), 0)
    );
  if (value.SS !== undefined) return value.SS.reduce((sum, v) => sum + 1 + utf8Bytes(v), 0);
  if (value.NS !== undefined) return value.NS.reduce((sum, v) => sum + 1 + numberBytes(v), 0);
  if (value.BS !== undefined) return value.BS.reduce((sum, v) => sum + 1 + v.byteLength, 0);
  return 0;
}

function numberBytes(text: string): number {
  const significant = text
    .replace(/[eE].*$/, '')
    .replace(/\D/g, '')
    .replace(/^0+/, '')
    .replace(/0+$/, '');
  if (significant === '') return 1;
  return 2 + Math.ceil(significant.length / 2) + (text.startsWith('-') ? 1 : 0);
}

const utf8Bytes = (text: string) => Buffer.byteLength(text, 'utf8');

/**
 * The ways a row with the same event time still wins, as flat alternatives: a created time
 * beats none or an older one, then a sequence number beats none or a lower one. (Flat because
 * nested parentheses make local DynamoDB servers parse each request very slowly.)
 */
function tieBreaks(created: boolean, seq: boolean): string[] {
  if (created && seq)
    return [
      'attribute_not_exists(#c)',
      '#c < :c',
      '#c = :c AND attribute_not_exists(#s)',
      '#c = :c AND #s < :s',
    ];
  if (created) return ['attribute_not_exists(#c)', '#c < :c'];
  if (seq)
    return [
      'attribute_not_exists(#c) AND attribute_not_exists(#s)',
      'attribute_not_exists(#c) AND #s < :s',
    ];
  return [];
}

function integerText(value: unknown, where: string): string {
  const text = typeof value === 'bigint' ? value.toString() : String(value);
  if (!/^-?\d+$/.test(text))
    throw new ItemCodecError(
      `${where}.fstore_seq is not an integer: ${text}`,
      'report this as a bug',
    );
  return text;
}
