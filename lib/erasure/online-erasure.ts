import {
  type AttributeValue,
  DeleteItemCommand,
  type DynamoDBClient,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { decodeEntityKey } from '../online/entity-key.ts';
import { itemAttributes } from '../online/item-codec.ts';
import { type ErasureKey, entityKeyMatches } from './erasure-keys.ts';

/** Online items of the keys under one view (every version of it). */
export interface ViewErasure {
  readonly view: string;
  readonly items: number;
}

/** Deletes in flight at once. */
const parallelDeletes = 16;

/**
 * Deletes every online item whose entity key holds one of `keys`, under every view and every
 * view version still in the table (an item of an older version keeps the entity too). Items are
 * keyed `<view>#<version>#<entity key>` (lib/online/entity-key.ts), so one Scan of the keys
 * finds them whatever the view's other join keys are; materialization state items (`~…`) are
 * never entity items. A delete of an item already gone counts nothing, so a rerun after a crash
 * deletes what is left. With `dryRun`, only counts. Aggregation views keep their windowed values
 * in the same item as any view (no separate tiles online), so they go with it.
 */
export async function eraseOnlineItems(
  client: DynamoDBClient,
  table: string,
  keys: readonly ErasureKey[],
  dryRun: boolean,
): Promise<ViewErasure[]> {
  const matched: { pk: string; view: string }[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: table,
        ProjectionExpression: '#pk',
        ExpressionAttributeNames: { '#pk': itemAttributes.key },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const item of page.Items ?? []) {
      const pk = item[itemAttributes.key]?.S;
      const parsed = pk === undefined ? undefined : parseItemKey(pk);
      if (pk && parsed && entityKeyMatches(parsed.parts, keys))
        matched.push({ pk, view: parsed.view });
    }
    start = page.LastEvaluatedKey;
  } while (start);

  const counts = new Map<string, number>();
  if (dryRun) for (const { view } of matched) counts.set(view, (counts.get(view) ?? 0) + 1);
  else
    for (let i = 0; i < matched.length; i += parallelDeletes) {
      const answers = await Promise.all(
        matched.slice(i, i + parallelDeletes).map(async ({ pk, view }) => {
          const { Attributes } = await client.send(
            new DeleteItemCommand({
              TableName: table,
              Key: { [itemAttributes.key]: { S: pk } },
              ReturnValues: 'ALL_OLD',
            }),
          );
          return { view, deleted: Attributes !== undefined };
        }),
      );
      for (const { view, deleted } of answers)
        if (deleted) counts.set(view, (counts.get(view) ?? 0) + 1);
    }
  return [...counts.entries()]
    .map(([view, items]) => ({ view, items }))
    .sort((a, b) => a.view.localeCompare(b.view));
}

/** `<view>#<version>#<entity key>` to the view and the key's parts; undefined for other items. */
export function parseItemKey(
  pk: string,
): { view: string; parts: Record<string, string> } | undefined {
  if (pk.startsWith('~')) return undefined;
  const first = pk.indexOf('#');
  const second = first < 0 ? -1 : pk.indexOf('#', first + 1);
  if (second < 0) return undefined;
  try {
    return { view: pk.slice(0, first), parts: decodeEntityKey(pk.slice(second + 1)) };
  } catch {
    return undefined; // not an entity key fstore wrote
  }
}
