import type { AttributeValue } from '@aws-sdk/client-dynamodb';

type CachedItem = Record<string, AttributeValue> | null;

/**
 * A small in-process cache of online items for hot keys, off unless configured: entries live
 * `ttlMs` and the oldest are dropped beyond `maxEntries`. Misses are cached too (as null), so a
 * hot unknown key does not hammer the table. TTL of feature values is still applied at read.
 */
export class LookupCache {
  private readonly entries = new Map<string, { item: CachedItem; until: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string): CachedItem | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.until <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.item;
  }

  set(key: string, item: CachedItem): void {
    this.entries.delete(key);
    this.entries.set(key, { item, until: this.now() + this.ttlMs });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }
}
