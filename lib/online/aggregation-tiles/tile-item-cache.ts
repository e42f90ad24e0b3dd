import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { TileState } from './tile-state.ts';
import type { DecodedItems } from './window-items.ts';

type Item = Record<string, AttributeValue>;

/** One entity and view's cache under one write token. */
export interface CachedTiles {
  /** Tile items by key (null: read, and not there). */
  readonly items: Map<string, Item | null>;
  /** Merged whole-tile states of a window by column and whole minutes (windowStateOfItems). */
  readonly windowTiles: Map<string, TileState>;
}

/**
 * Tile items a serving process has read, per entity and view (the tiles' prefix), kept under
 * the write token of the entity's head item they were read after (ADR 0020, "Cached tiles";
 * cached-tile-read.ts says when a read may be kept). An entry may hold a token and no items:
 * the token a cold read saw, under which the entity's next read may cache.
 * Every tile write changes the token after it has changed the items, and a token is never
 * reused, so items cached under the token a lookup reads are the items it would read: a lookup
 * whose entities were not written since reads only their head items. Entries are dropped
 * oldest first beyond `maxEntities` (one per entity and view).
 */
export class TileItemCache {
  /** Decoded tiles and rows of the cached item objects, kept as long as the items are. */
  readonly decoded: DecodedItems = new WeakMap();
  private readonly entries = new Map<string, CachedTiles & { readonly token: string }>();

  constructor(private readonly maxEntities = 2_000) {}

  /** What is cached of `prefix`, and under which token (none: the prefix is not cached). */
  entryOf(prefix: string): (CachedTiles & { readonly token: string }) | undefined {
    const entry = this.entries.get(prefix);
    if (entry !== undefined) this.touch(prefix, entry);
    return entry;
  }

  /**
   * What is cached of `prefix` under `token`; new and empty when the cache held the prefix under
   * another token or not at all.
   */
  tilesOf(prefix: string, token: string): CachedTiles {
    let entry = this.entries.get(prefix);
    if (entry?.token !== token) entry = { token, items: new Map(), windowTiles: new Map() };
    this.touch(prefix, entry);
    return entry;
  }

  private touch(prefix: string, entry: CachedTiles & { readonly token: string }): void {
    // Re-inserted: the map's order is the order of last use.
    this.entries.delete(prefix);
    this.entries.set(prefix, entry);
    while (this.entries.size > this.maxEntities) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  /** Keeps of `prefix`'s items only the keys a lookup still reads (edge minutes move on). */
  keepOnly(prefix: string, keys: readonly string[]): void {
    const entry = this.entries.get(prefix);
    if (!entry) return;
    // Window states are kept per whole minute of the window: the old minutes are not read again.
    if (entry.windowTiles.size > 64) entry.windowTiles.clear();
    if (entry.items.size <= 2 * keys.length) return;
    const kept = new Set(keys);
    for (const key of entry.items.keys()) if (!kept.has(key)) entry.items.delete(key);
  }
}
