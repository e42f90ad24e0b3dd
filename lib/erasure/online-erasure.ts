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
 * deletes what is left. With `dryRun`, only counts. The aggregation tiles pushes write for a view
 * with `onlineTiles` (minute items holding the pushed rows, block items their sums) are items of
 * the entity's key with a tile suffix, and go with it (parseItemKey).
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
        ProjectionExpression: '#pk, #e',
        ExpressionAttributeNames: { '#pk': itemAttributes.key, '#e': itemAttributes.eventTs },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const item of page.Items ?? []) {
      const pk = item[itemAttributes.key]?.S;
      const tile = item[itemAttributes.eventTs] === undefined;
      const parsed = pk === undefined ? undefined : parseItemKey(pk, { tile });
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

/**
 * A tile item's suffix after the entity key (lib/online/aggregation-tiles/tile-items.ts):
 * `|raw#<minute start>`, `|tiles#<size>m#<block start>` or the entity's `|head` (its write token).
 */
const tileSuffix = /\|(?:raw#-?\d+|tiles#\d+m#-?\d+|head)$/;

/**
 * `<view>#<version>#<entity key>` to the view and the key's parts; undefined for other items.
 * With `tile` (an item without `event_ts`: entity items always have one, tile items never), a
 * tile suffix is not part of the key (entity keys escape the `|` it starts with).
 */
export function parseItemKey(
  pk: string,
  options: { readonly tile?: boolean } = {},
): { view: string; parts: Record<string, string> } | undefined {
  if (pk.startsWith('~')) return undefined;
  const first = pk.indexOf('#');
  const second = first < 0 ? -1 : pk.indexOf('#', first + 1);
  if (second < 0) return undefined;
  const entityKey = pk.slice(second + 1);
  try {
    return {
      view: pk.slice(0, first),
      parts: decodeEntityKey(options.tile ? entityKey.replace(tileSuffix, '') : entityKey),
    };
  } catch {
    return undefined; // not an entity key fstore wrote
  }
}
