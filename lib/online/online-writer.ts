import { type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { secondsCeil } from '../epoch-micros.ts';
import type { RegistryFeatureView } from '../registry/index.ts';
import { sendConditionalPuts } from './conditional-puts.ts';
import { encodeEntityKey, partitionKey } from './entity-key.ts';
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
  view: RegistryFeatureView,
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

export function putCommand(
  table: string,
  view: RegistryFeatureView,
  row: OnlineRow,
  nowMs: number,
): PutItemCommand {
  const where = `${view.name}[${encodeEntityKey(view.joinKeys, row.values)}]`;
  const eventTs = toEpochMicros(row.eventTs, `${where}.event_ts`);
  const createdTs =
    row.createdTs === undefined || row.createdTs === null
      ? undefined
      : toEpochMicros(row.createdTs, `${where}.created_ts`);
  const features = Object.fromEntries(
    view.features.map((f) => [
      f.name,
      encodeValue(f.type, row.values[f.name], `${where}.${f.name}`),
    ]),
  );
  const seq = row.seq === undefined || row.seq === null ? undefined : integerText(row.seq, where);
  // DynamoDB TTL counts whole seconds: round the expiry up, or an item whose event has
  // microseconds past a second could be deleted while reads still count it fresh.
  const expiresAt =
    view.ttlSeconds === undefined ? undefined : Number(secondsCeil(eventTs)) + view.ttlSeconds;
  const sameEvent = tieBreaks(createdTs !== undefined, seq !== undefined)
    .map((terms) => ` OR (#e = :e AND ${terms})`)
    .join('');
  return new PutItemCommand({
    TableName: table,
    Item: {
      [a.key]: {
        S: partitionKey(view.onlineStore.keyPrefix, encodeEntityKey(view.joinKeys, row.values)),
      },
      [a.features]: { M: features },
      [a.eventTs]: { N: eventTs.toString() },
      ...(createdTs !== undefined ? { [a.createdTs]: { N: createdTs.toString() } } : {}),
      ...(seq !== undefined ? { [a.seq]: { N: seq } } : {}),
      [a.materializedAt]: { N: String(nowMs) },
      ...(expiresAt !== undefined ? { [a.expiresAt]: { N: String(expiresAt) } } : {}),
    },
    ConditionExpression: `attribute_not_exists(#pk) OR #e < :e${sameEvent}`,
    ExpressionAttributeNames: {
      '#pk': a.key,
      '#e': a.eventTs,
      ...(createdTs !== undefined || seq !== undefined ? { '#c': a.createdTs } : {}),
      ...(seq !== undefined ? { '#s': a.seq } : {}),
    },
    ExpressionAttributeValues: {
      ':e': { N: eventTs.toString() },
      ...(createdTs !== undefined ? { ':c': { N: createdTs.toString() } } : {}),
      ...(seq !== undefined ? { ':s': { N: seq } } : {}),
    },
  });
}

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
