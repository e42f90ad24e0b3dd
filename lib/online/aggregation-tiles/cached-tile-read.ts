import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { TileItemCache } from './tile-item-cache.ts';
import { headItemKey, writeTokenAttribute } from './tile-items.ts';
import type { TileState } from './tile-state.ts';
import { minuteMayHoldRows } from './window-items.ts';

type Item = Record<string, AttributeValue>;
type CachedEntry = NonNullable<ReturnType<TileItemCache['entryOf']>>;

/** Reads `keys` with ConsistentRead (100 a call, in parallel, unprocessed keys retried). */
export type ReadConsistently = (keys: readonly string[]) => Promise<Map<string, Item>>;

/** Tile items by key, and the cached window states of the entities (prefixes) read with a token. */
export interface CachedRead {
  readonly tileItems: Map<string, Item>;
  readonly windowTiles: ReadonlyMap<string, Map<string, TileState>>;
}

/**
 * The tile items of a lookup through the cache (ADR 0020, "Cached tiles"), every read consistent.
 * One round reads each entity's head item with the tile items its cache lacks: all of them when
 * the cache holds nothing of the entity. What that round read is cached only under a token the
 * cache already held, that is one seen by a head read that ended before the round began, and only
 * if the round's head read still gives it: then every item of the round was read after the write
 * behind that token had changed its items. A head read in the same round as the items proves
 * nothing of them (BatchGetItem reads in no set order: an item read before a write whose token
 * the head then shows would be cached stale under that token), so a cold entity's round answers
 * the lookup (it is what an uncached lookup reads) and leaves only its token in the cache: its
 * next lookup's round caches. An entity whose token changed since is read whole in a second
 * round, after its head, and cached under the new token. An entity without a head item (expired,
 * erased, or written before heads existed) is read whole and not cached.
 */
export async function readCachedTiles(
  read: ReadConsistently,
  keysByPrefix: ReadonlyMap<string, readonly string[]>,
  cache: TileItemCache,
): Promise<CachedRead> {
  const first: string[] = [];
  // Per entity the cache held: its entry, and what it held of the keys when the round began.
  const known = new Map<string, { entry: CachedEntry; held: Map<string, Item | null> }>();
  for (const [prefix, keys] of keysByPrefix) {
    first.push(headItemKey(prefix));
    const entry = cache.entryOf(prefix);
    if (entry === undefined) {
      first.push(...keys);
      continue;
    }
    cache.keepOnly(prefix, keys);
    const held = new Map<string, Item | null>();
    const lacking: string[] = [];
    for (const key of keys) {
      const item = entry.items.get(key);
      if (item === undefined) lacking.push(key);
      else held.set(key, item);
    }
    // A minute item its cached block shows empty is not read: not there, if the round's head
    // shows the token the block was cached under.
    for (const key of lacking)
      if (minuteMayHoldRows(key, held, cache.decoded) !== false) first.push(key);
    known.set(prefix, { entry, held });
  }
  const fresh = await read(first);
  const tileItems = new Map<string, Item>();
  const windowTiles = new Map<string, Map<string, TileState>>();
  const again: string[] = [];
  const fillAgain: [string, Map<string, Item | null> | undefined][] = [];
  for (const [prefix, keys] of keysByPrefix) {
    const token = fresh.get(headItemKey(prefix))?.[writeTokenAttribute]?.S;
    const cached = known.get(prefix);
    if (cached !== undefined && token === cached.entry.token) {
      windowTiles.set(prefix, cached.entry.windowTiles);
      for (const key of keys) {
        let item = cached.held.get(key);
        if (item === undefined) {
          item = fresh.get(key) ?? null;
          cached.entry.items.set(key, item);
        }
        if (item !== null) tileItems.set(key, item);
      }
      continue;
    }
    if (cached === undefined) {
      // Cold: the round read every item, which answers the lookup; the token alone is kept.
      for (const key of keys) {
        const item = fresh.get(key);
        if (item) tileItems.set(key, item);
      }
      if (token !== undefined) cache.tilesOf(prefix, token);
      continue;
    }
    // Written since (or the head is gone): read whole after this head read.
    const renewed = token === undefined ? undefined : cache.tilesOf(prefix, token);
    if (renewed) windowTiles.set(prefix, renewed.windowTiles);
    for (const key of keys) {
      again.push(key);
      fillAgain.push([key, renewed?.items]);
    }
  }
  if (again.length > 0) {
    const second = await read(again);
    for (const [key, items] of fillAgain) {
      const item = second.get(key);
      items?.set(key, item ?? null);
      if (item) tileItems.set(key, item);
    }
  }
  return { tileItems, windowTiles };
}
