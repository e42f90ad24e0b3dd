import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { RegistryFeatureView } from '../registry/index.ts';
import { encodeEntityKey, partitionKey } from './entity-key.ts';
import { itemAttributes as a, encodeValue, toEpochMicros } from './item-codec.ts';

/** One entity's newest row of a view, as materialization produces it. */
export interface OnlineRow {
  /** Join-key values and feature values by name. */
  readonly values: Readonly<Record<string, unknown>>;
  readonly eventTs: unknown;
  readonly createdTs?: unknown;
}

export interface WriteResult {
  readonly written: number;
  /** Rows not written because the item already holds a newer (or the same) event. */
  readonly skippedAsOlder: number;
}

/**
 * Writes rows of one view version with conditional puts: an item changes only when the new row
 * has a later event time, or the same event time and a later created time. Re-running a write
 * is therefore harmless, and an older row never replaces a newer one.
 */
export async function writeOnlineRows(
  client: DynamoDBClient,
  table: string,
  view: RegistryFeatureView,
  rows: readonly OnlineRow[],
  options: { now?: () => number; concurrency?: number } = {},
): Promise<WriteResult> {
  const now = options.now ?? Date.now;
  let written = 0;
  let skippedAsOlder = 0;
  let next = 0;
  const worker = async () => {
    while (next < rows.length) {
      const row = rows[next++] as OnlineRow;
      try {
        await client.send(putCommand(table, view, row, now()));
        written += 1;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        skippedAsOlder += 1;
      }
    }
  };
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 16, rows.length)) }, worker),
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
  const expiresAt =
    view.ttlSeconds === undefined ? undefined : Number(eventTs / 1_000_000n) + view.ttlSeconds;
  const newerCreated =
    createdTs === undefined ? '' : ` OR (#e = :e AND (attribute_not_exists(#c) OR #c < :c))`;
  return new PutItemCommand({
    TableName: table,
    Item: {
      [a.key]: {
        S: partitionKey(view.onlineStore.keyPrefix, encodeEntityKey(view.joinKeys, row.values)),
      },
      [a.features]: { M: features },
      [a.eventTs]: { N: eventTs.toString() },
      ...(createdTs !== undefined ? { [a.createdTs]: { N: createdTs.toString() } } : {}),
      [a.materializedAt]: { N: String(nowMs) },
      ...(expiresAt !== undefined ? { [a.expiresAt]: { N: String(expiresAt) } } : {}),
    },
    ConditionExpression: `attribute_not_exists(#pk) OR #e < :e${newerCreated}`,
    ExpressionAttributeNames: {
      '#pk': a.key,
      '#e': a.eventTs,
      ...(createdTs !== undefined ? { '#c': a.createdTs } : {}),
    },
    ExpressionAttributeValues: {
      ':e': { N: eventTs.toString() },
      ...(createdTs !== undefined ? { ':c': { N: createdTs.toString() } } : {}),
    },
  });
}
