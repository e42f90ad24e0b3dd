import {
  type AttributeValue,
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  type DynamoDBClient,
  type KeysAndAttributes,
} from '@aws-sdk/client-dynamodb';
import { HintedError } from '../hinted-error.ts';
import type { Registry, RegistryFeatureView } from '../registry/index.ts';
import { encodeEntityKey, partitionKey } from './entity-key.ts';
import { itemAttributes as a, decodeValue, microsToIso } from './item-codec.ts';
import type { LookupCache } from './lookup-cache.ts';

export type FeatureStatus = 'PRESENT' | 'NOT_FOUND' | 'OUTSIDE_TTL' | 'NULL_VALUE';

export interface FeatureResult {
  readonly value: unknown;
  readonly status: FeatureStatus;
  readonly event_timestamp: string | null;
}

export interface LookupRequest {
  /** Features to return, grouped by view, with the names they are returned under. */
  readonly views: readonly {
    readonly view: string;
    readonly features: readonly { feature: string; outputName: string }[];
  }[];
  readonly entities: readonly Readonly<Record<string, unknown>>[];
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
}

/** The store did not answer for every key after the retries: report 503, never "not found". */
export class OnlineStoreUnavailableError extends HintedError {}

const maxKeysPerBatch = 100;

/**
 * Fetches the requested features for every entity with parallel BatchGetItem calls of at most
 * 100 keys, projecting only the needed attributes and retrying unprocessed keys with backoff
 * and jitter. Applies each view's TTL at read time. One result per entity, in request order.
 */
export async function lookupFeatures(
  client: DynamoDBClient,
  table: string,
  registry: Registry,
  request: LookupRequest,
  options: LookupOptions = {},
): Promise<Record<string, FeatureResult>[]> {
  const now = (options.now ?? Date.now)();
  const views = request.views.map((selection) => {
    const view = registry.featureViews.find((v) => v.name === selection.view);
    if (!view) throw new Error(`internal: view ${selection.view} is not in the registry`);
    return { view, features: selection.features };
  });
  const keysByEntity = request.entities.map((entity) =>
    views.map(({ view }) =>
      partitionKey(view.onlineStore.keyPrefix, encodeEntityKey(view.joinKeys, entity)),
    ),
  );
  const uniqueKeys = [...new Set(keysByEntity.flat())];
  const projection = projectionFor(views.map((v) => v.view));
  const items = new Map<string, Record<string, AttributeValue>>();
  const toFetch: string[] = [];
  for (const key of uniqueKeys) {
    const cached = options.cache?.get(key);
    if (cached === undefined) toFetch.push(key);
    else if (cached !== null) items.set(key, cached);
  }
  const fetched = await batchGet(client, table, toFetch, projection, options);
  for (const key of toFetch) {
    const item = fetched.get(key);
    if (item) items.set(key, item);
    options.cache?.set(key, item ?? null);
  }
  const types = views.map(({ view }) => new Map(view.features.map((f) => [f.name, f.type])));
  return keysByEntity.map((keys) => {
    const result: Record<string, FeatureResult> = {};
    views.forEach(({ view, features }, index) => {
      const item = items.get(keys[index] as string);
      const found = itemState(view, item, now);
      for (const { feature, outputName } of features) {
        if (found.status !== 'PRESENT') {
          result[outputName] = {
            value: found.status === 'NOT_FOUND' ? emptyAggregate(view, feature) : null,
            status: found.status,
            event_timestamp: found.eventTimestamp,
          };
          continue;
        }
        const value = decodeValue(
          types[index]?.get(feature) ?? 'string',
          item?.[a.features]?.M?.[feature],
        );
        result[outputName] = {
          value,
          status: value === null ? 'NULL_VALUE' : 'PRESENT',
          event_timestamp: found.eventTimestamp,
        };
      }
    });
    return result;
  });
}

/** What an aggregation feature is for an entity with no rows: 0 for counts, else NULL. */
function emptyAggregate(view: RegistryFeatureView, feature: string): number | null {
  const fn = view.aggregations?.find((a) => a.feature === feature)?.function;
  return fn === 'count' || fn === 'count_distinct' ? 0 : null;
}

/** Whether a view's item exists and is within TTL at read time: once per item, not per feature. */
function itemState(
  view: RegistryFeatureView,
  item: Record<string, AttributeValue> | undefined,
  now: number,
): { status: 'PRESENT' | 'NOT_FOUND' | 'OUTSIDE_TTL'; eventTimestamp: string | null } {
  if (!item) return { status: 'NOT_FOUND', eventTimestamp: null };
  const eventMicros = BigInt(item[a.eventTs]?.N ?? '0');
  const eventTimestamp = microsToIso(eventMicros);
  const expired =
    view.ttlSeconds !== undefined &&
    BigInt(now) * 1000n - eventMicros > BigInt(view.ttlSeconds) * 1_000_000n;
  return { status: expired ? 'OUTSIDE_TTL' : 'PRESENT', eventTimestamp };
}

function projectionFor(
  views: readonly RegistryFeatureView[],
): Pick<KeysAndAttributes, 'ProjectionExpression' | 'ExpressionAttributeNames'> {
  const names: Record<string, string> = { '#pk': a.key, '#e': a.eventTs, '#f': a.features };
  const paths = ['#pk', '#e'];
  const features = [...new Set(views.flatMap((v) => v.features.map((f) => f.name)))];
  features.forEach((feature, index) => {
    names[`#f${index}`] = feature;
    paths.push(`#f.#f${index}`);
  });
  return { ProjectionExpression: paths.join(', '), ExpressionAttributeNames: names };
}

async function batchGet(
  client: DynamoDBClient,
  table: string,
  keys: readonly string[],
  projection: Pick<KeysAndAttributes, 'ProjectionExpression' | 'ExpressionAttributeNames'>,
  options: LookupOptions,
): Promise<Map<string, Record<string, AttributeValue>>> {
  const found = new Map<string, Record<string, AttributeValue>>();
  const chunks: string[][] = [];
  for (let i = 0; i < keys.length; i += maxKeysPerBatch)
    chunks.push(keys.slice(i, i + maxKeysPerBatch));
  await Promise.all(
    chunks.map((chunk) => fetchChunk(client, table, chunk, projection, options, found)),
  );
  return found;
}

async function fetchChunk(
  client: DynamoDBClient,
  table: string,
  chunk: readonly string[],
  projection: Pick<KeysAndAttributes, 'ProjectionExpression' | 'ExpressionAttributeNames'>,
  options: LookupOptions,
  found: Map<string, Record<string, AttributeValue>>,
): Promise<void> {
  const maxAttempts = options.maxAttempts ?? 6;
  const baseDelayMs = options.baseDelayMs ?? 25;
  const sleep =
    options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = options.random ?? Math.random;
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
    if (attempt > 1) await sleep(random() * baseDelayMs * 2 ** (attempt - 2));
    let response: BatchGetItemCommandOutput;
    try {
      response = await client.send(new BatchGetItemCommand({ RequestItems: { [table]: pending } }));
    } catch (error) {
      // A store that knows what is wrong (a damaged local store) says so in its own words.
      if (error instanceof HintedError)
        throw new OnlineStoreUnavailableError(error.message, error.hint, { cause: error });
      throw new OnlineStoreUnavailableError(
        `the online store failed: ${(error as Error).message}`,
        'retry the request',
        { cause: error },
      );
    }
    for (const item of response.Responses?.[table] ?? []) {
      const key = item[a.key]?.S;
      if (key !== undefined) found.set(key, item);
    }
    pending = response.UnprocessedKeys?.[table];
  }
}
