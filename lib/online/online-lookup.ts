import type { DynamoDBClient, KeysAndAttributes } from '@aws-sdk/client-dynamodb';
import type { RuntimeRegistry } from '../registry/runtime-projection.ts';
import { type CachedRead, readCachedTiles } from './aggregation-tiles/cached-tile-read.ts';
import type { TileItemCache } from './aggregation-tiles/tile-item-cache.ts';
import { planTileLookup } from './aggregation-tiles/tile-lookup.ts';
import type { BatchGetItemOutput, BatchGetItems } from './dynamodb-batch-get/batch-get-items.ts';
import { type Deadline, noTimeForAnotherAttempt } from './dynamodb-batch-get/deadline.ts';
import { sdkBatchGet } from './dynamodb-batch-get/sdk-batch-get.ts';
import { itemAttributes as a, decodeValue } from './item-codec.ts';
import type { LookupCache } from './lookup-cache.ts';
import {
  type FeatureStatus,
  type Item,
  itemState,
  type LookupRequest,
  type PlannedLookup,
  type Projection,
  planLookup,
} from './lookup-plan.ts';
import { OnlineStoreUnavailableError, storeFailure } from './store-failure.ts';

export { Deadline, DeadlineExceededError } from './dynamodb-batch-get/deadline.ts';
export { maxExpressionBytes, projectionFor } from './lookup-plan.ts';
export { OnlineStoreMisconfiguredError, OnlineStoreUnavailableError } from './store-failure.ts';

export type { FeatureStatus, LookupRequest };

export interface FeatureResult {
  readonly value: unknown;
  readonly status: FeatureStatus;
  readonly event_timestamp: string | null;
}

/** What a lookup read: its plan, the item of each key (`undefined` when there is none), and when. */
export interface FetchedLookup extends PlannedLookup {
  /** `items[entity * views.length + view]`, beside `keys`. */
  readonly items: readonly (Item | undefined)[];
  /** Read time, for TTL, in epoch microseconds. */
  readonly nowMicros: bigint;
}

export interface LookupOptions {
  readonly now?: () => number;
  /** BatchGetItem rounds for keys DynamoDB leaves unprocessed. Default 6. */
  readonly maxAttempts?: number;
  readonly baseDelayMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  /** Hot-key cache; none by default. */
  readonly cache?: LookupCache;
  /**
   * Tile items kept between lookups, valid while each entity's head item holds the same write
   * token (ADR 0020, "Cached tiles"): bit for bit what an uncached lookup reads. A lookup then
   * reads the head items with the tile items the cache lacks, consistently, in one round, and a
   * second round only for entities written since (cached-tile-read.ts). None by default: one
   * round, every tile item read.
   */
  readonly tileCache?: TileItemCache;
  /**
   * When the answer is due (the Lambda's remaining time less a margin): no BatchGetItem
   * attempt or round starts, and no backoff waits, past it. None by default.
   */
  readonly deadline?: Deadline;
}

const maxKeysPerBatch = 100;

/**
 * Fetches the requested features for every entity with parallel BatchGetItem calls of at most
 * 100 keys, projecting only the needed attributes and retrying unprocessed keys with backoff
 * and jitter. Applies each view's TTL at read time. One result per entity, in request order.
 */
export async function lookupFeatures(
  store: DynamoDBClient | BatchGetItems,
  table: string,
  registry: RuntimeRegistry,
  request: LookupRequest,
  options: LookupOptions = {},
): Promise<Record<string, FeatureResult>[]> {
  const batchGet = typeof store === 'function' ? store : sdkBatchGet(store);
  return featureResults(await fetchLookup(batchGet, table, registry, request, options));
}

/**
 * The items a lookup needs, read as lookupFeatures reads them, without turning them into
 * values: the HTTP API writes its answer's JSON text straight from them. It takes a bare
 * BatchGetItem function, so the lookup Lambda's bundle carries no AWS SDK client.
 */
export async function fetchLookup(
  batchGet: BatchGetItems,
  table: string,
  registry: RuntimeRegistry,
  request: LookupRequest,
  options: LookupOptions = {},
): Promise<FetchedLookup> {
  const nowMicros = BigInt((options.now ?? Date.now)()) * 1000n;
  const planned = planLookup(registry, request);
  // Tile-fed views read their tiles, whole and never from the hot-key cache: a cached tile would
  // hide the pushes since (ADR 0020). With a tile cache, only what the head items say changed.
  const tiles = planTileLookup(registry, planned, nowMicros);
  const found = new Map<string, Item>();
  const toFetch: string[] = [];
  for (const key of new Set(planned.keys)) {
    if (tiles?.unread.has(key)) continue;
    const cached = options.cache?.get(key);
    if (cached === undefined) toFetch.push(key);
    else if (cached !== null) found.set(key, cached);
  }
  let read: CachedRead = { tileItems: new Map(), windowTiles: new Map() };
  await Promise.all([
    batchGetKeys(batchGet, table, toFetch, planned.projection, options, found),
    tiles && !options.tileCache
      ? batchGetKeys(batchGet, table, tiles.keys, {}, options, read.tileItems)
      : undefined,
    tiles && options.tileCache
      ? readCachedTiles(
          async (keys) => {
            const items = new Map<string, Item>();
            await batchGetKeys(batchGet, table, keys, { ConsistentRead: true }, options, items);
            return items;
          },
          tiles.keysByPrefix,
          options.tileCache,
        ).then((cached) => {
          read = cached;
        })
      : undefined,
  ]);
  if (options.cache) for (const key of toFetch) options.cache.set(key, found.get(key) ?? null);
  const items = planned.keys.map((key) => found.get(key));
  return {
    ...planned,
    items: tiles ? tiles.itemsWith(items, read, options.tileCache?.decoded) : items,
    nowMicros,
  };
}

/** Each entity's features by output name, with value, status and event time. */
export function featureResults(lookup: FetchedLookup): Record<string, FeatureResult>[] {
  const viewCount = lookup.views.length;
  const results: Record<string, FeatureResult>[] = [];
  for (let entity = 0; entity < lookup.entities.length; entity++) {
    const result: Record<string, FeatureResult> = {};
    for (let index = 0; index < viewCount; index++) {
      const { plan, features } = lookup.views[index] as PlannedLookup['views'][number];
      const item = lookup.items[entity * viewCount + index];
      const found = itemState(plan, item, lookup.nowMicros);
      if (found.status !== 'PRESENT') {
        for (const feature of features)
          result[feature.outputName] = {
            value: found.status === 'NOT_FOUND' ? feature.valueIfNoRows : null,
            status: found.status,
            event_timestamp: found.eventTimestamp,
          };
        continue;
      }
      const stored = item?.[a.features]?.M;
      for (const feature of features) {
        const value = decodeValue(feature.type, stored?.[feature.feature]);
        result[feature.outputName] = {
          value,
          status: value === null ? 'NULL_VALUE' : 'PRESENT',
          event_timestamp: found.eventTimestamp,
        };
      }
    }
    results.push(result);
  }
  return results;
}

async function batchGetKeys(
  batchGet: BatchGetItems,
  table: string,
  keys: readonly string[],
  projection: Projection | Pick<KeysAndAttributes, 'ConsistentRead'>,
  options: LookupOptions,
  found: Map<string, Item>,
): Promise<void> {
  const chunks: string[][] = [];
  for (let i = 0; i < keys.length; i += maxKeysPerBatch)
    chunks.push(keys.slice(i, i + maxKeysPerBatch));
  await Promise.all(
    chunks.map((chunk) => fetchChunk(batchGet, table, chunk, projection, options, found)),
  );
}

async function fetchChunk(
  batchGet: BatchGetItems,
  table: string,
  chunk: readonly string[],
  projection: Projection | Pick<KeysAndAttributes, 'ConsistentRead'>,
  options: LookupOptions,
  found: Map<string, Item>,
): Promise<void> {
  const maxAttempts = options.maxAttempts ?? 6;
  const baseDelayMs = options.baseDelayMs ?? 25;
  const sleep =
    options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = options.random ?? Math.random;
  const { deadline } = options;
  let pending: KeysAndAttributes | undefined = {
    Keys: chunk.map((key) => ({ [a.key]: { S: key } })),
    ...projection,
  };
  for (let attempt = 1; pending?.Keys?.length; attempt++) {
    if (attempt > maxAttempts) {
      throw new OnlineStoreUnavailableError(
        `the online store left ${pending.Keys.length} key(s) unprocessed after ${maxAttempts} attempts`,
        'retry the request; the table is throttled or unavailable',
      );
    }
    const delayMs = attempt > 1 ? random() * baseDelayMs * 2 ** (attempt - 2) : 0;
    const round = `round ${attempt} of the ${pending.Keys.length} key(s) left unprocessed`;
    // One check a round, before its backoff. A sleep can end late (a busy event loop): the
    // BatchGetItem client checks the deadline again before it sends anything.
    if (deadline && !deadline.allowsAttemptAfter(delayMs))
      throw noTimeForAnotherAttempt(deadline, round);
    if (delayMs > 0) await sleep(delayMs);
    let response: BatchGetItemOutput;
    try {
      response = await batchGet(
        { RequestItems: { [table]: pending } },
        deadline ? { deadline } : {},
      );
    } catch (error) {
      throw storeFailure(error);
    }
    for (const item of response.Responses?.[table] ?? []) {
      const key = item[a.key]?.S;
      if (key !== undefined) found.set(key, item);
    }
    pending = response.UnprocessedKeys?.[table];
  }
}
