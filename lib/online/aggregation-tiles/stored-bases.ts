import {
  type AttributeValue,
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  type KeysAndAttributes,
} from '@aws-sdk/client-dynamodb';
import { inParallel } from '../../bounded-pool.ts';
import { itemAttributes } from '../item-codec.ts';
import {
  baseLevels,
  childrenOf,
  levelOfSuffix,
  type TreeItem,
  topBlocksOver,
} from './base-item-tree.ts';
import {
  type BaseItem,
  baseRowsAttribute,
  baseSeqAttribute,
  baseTilesAttribute,
  baseTilesOfItem,
} from './base-tiles.ts';
import { DamagedTileItemError } from './damaged-tile-item.ts';
import type { TileWriteTarget } from './write-row-tiles.ts';

/** An item's base as stored: its text (none when it holds no base) and sequence. */
export interface StoredBase {
  readonly text?: string;
  readonly seq?: bigint;
  readonly endMicros: bigint;
}

/** Keys a BatchGetItem takes at once, and rounds of unprocessed keys before giving up. */
const batchKeys = 100;
const maxRounds = 20;
/** BatchGetItem calls in flight at once (a dense entity's level can be hundreds of calls). */
const parallelCalls = 8;

/**
 * The stored bases of one entity's items that a run at `[fromMicros, untilMicros]` must look at:
 * the items of its new base, and every item its stored base covers there, found by walking the
 * stored tree (base-item-tree.ts) from the 32-day blocks of the span. The first consistent
 * BatchGetItem round reads those blocks and every item of the new base at once; a level's
 * later round reads only children a stored parent lists that were not read yet (items whose
 * rows left the base), so an entity whose stored items are all in its new base takes one round.
 * Only items that exist are returned. Consistent reads: what a run compares against holds every
 * write that returned before it.
 */
export async function readStoredBases(
  target: Pick<TileWriteTarget, 'client' | 'table' | 'prefix'>,
  items: readonly BaseItem[],
  span: { readonly fromMicros: bigint; readonly untilMicros: bigint },
): Promise<Map<string, StoredBase>> {
  const wanted: Map<string, TreeItem>[] = baseLevels.map(() => new Map());
  for (const block of topBlocksOver(span.fromMicros, span.untilMicros))
    wanted[0]?.set(block.suffix, block);
  for (const item of items) wanted[levelOfSuffix(item.suffix)]?.set(item.suffix, item);
  const read = await readItems(
    target,
    wanted.flatMap((level) => [...level.keys()]),
  );
  const done = new Set(wanted.flatMap((level) => [...level.keys()]));
  const stored = new Map<string, StoredBase>();
  for (const level of baseLevels) {
    const missing = [...(wanted[level]?.keys() ?? [])].filter((suffix) => !done.has(suffix));
    for (const [suffix, item] of await readItems(target, missing)) read.set(suffix, item);
    for (const suffix of wanted[level]?.keys() ?? []) {
      const item = read.get(suffix);
      if (!item) continue;
      const endMicros = wanted[level]?.get(suffix)?.endMicros as bigint;
      const attribute = level === 3 ? baseRowsAttribute : baseTilesAttribute;
      const text = item[attribute]?.S;
      const key = target.prefix + suffix;
      const seq = baseSeqOf(item, key);
      stored.set(suffix, {
        endMicros,
        ...(text === undefined ? {} : { text }),
        ...(seq === undefined ? {} : { seq }),
      });
      if (level === 3 || text === undefined) continue;
      const starts = baseTilesOfItem(item, `block item ${key}`).keys();
      for (const child of childrenOf(level, starts))
        if (child.endMicros > span.fromMicros) wanted[level + 1]?.set(child.suffix, child);
    }
  }
  return stored;
}

/** The offline sequence an item's base was computed at (a whole number, as runs write it). */
function baseSeqOf(item: Record<string, AttributeValue>, key: string): bigint | undefined {
  const seq = item[baseSeqAttribute]?.N;
  if (seq === undefined) return undefined;
  if (!/^\d+$/.test(seq))
    throw new DamagedTileItemError(
      `the base sequence of tile item ${key} is damaged: ${JSON.stringify(seq)} is not a whole number`,
    );
  return BigInt(seq);
}

async function readItems(
  target: Pick<TileWriteTarget, 'client' | 'table' | 'prefix'>,
  suffixes: readonly string[],
): Promise<Map<string, Record<string, AttributeValue>>> {
  const found = new Map<string, Record<string, AttributeValue>>();
  const names = {
    '#pk': itemAttributes.key,
    '#br': baseRowsAttribute,
    '#bt': baseTilesAttribute,
    '#bs': baseSeqAttribute,
  };
  const chunks: string[][] = [];
  for (let i = 0; i < suffixes.length; i += batchKeys)
    chunks.push(suffixes.slice(i, i + batchKeys));
  await inParallel(chunks, parallelCalls, async (chunk) => {
    const request: KeysAndAttributes = {
      Keys: chunk.map((suffix) => ({ [itemAttributes.key]: { S: target.prefix + suffix } })),
      ConsistentRead: true,
      ProjectionExpression: '#pk, #br, #bt, #bs',
      ExpressionAttributeNames: names,
    };
    let pending: KeysAndAttributes | undefined = request;
    for (let round = 0; pending?.Keys?.length; round++) {
      if (round === maxRounds)
        throw new Error(
          `the online table left ${pending.Keys.length} tile item(s) of ${target.prefix} unread after ${maxRounds} rounds`,
        );
      if (round > 0)
        await new Promise((resolve) => setTimeout(resolve, 10 * 2 ** Math.min(round, 6)));
      const response: BatchGetItemCommandOutput = await target.client.send(
        new BatchGetItemCommand({ RequestItems: { [target.table]: pending } }),
      );
      for (const item of response?.Responses?.[target.table] ?? []) {
        const key = item[itemAttributes.key]?.S;
        if (key !== undefined) found.set(key.slice(target.prefix.length), item);
      }
      // Keys left unprocessed are read again the same way (consistently, the same attributes).
      const left = response?.UnprocessedKeys?.[target.table]?.Keys;
      pending = left?.length ? { ...request, Keys: left } : undefined;
    }
  });
  return found;
}
