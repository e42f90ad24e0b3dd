import {
  type AttributeValue,
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  type DynamoDBClient,
  type KeysAndAttributes,
} from '@aws-sdk/client-dynamodb';
import type { ValueType } from '../definitions/index.ts';
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
  const nowMicros = BigInt((options.now ?? Date.now)()) * 1000n;
  const views = request.views.map((selection) => {
    const view = registry.featureViews.find((v) => v.name === selection.view);
    if (!view) throw new Error(`internal: view ${selection.view} is not in the registry`);
    const plan = viewPlan(view);
    return { plan, features: selection.features.map((f) => plan.feature(f.feature, f.outputName)) };
  });
  // keys[entity * views.length + view]
  const keys: string[] = [];
  for (const entity of request.entities)
    for (const { plan } of views)
      keys.push(partitionKey(plan.keyPrefix, encodeEntityKey(plan.joinKeys, entity)));
  const uniqueKeys = [...new Set(keys)];
  const projection = projectionFor(views.map((v) => v.plan.view));
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
  const results: Record<string, FeatureResult>[] = [];
  for (let entity = 0; entity < request.entities.length; entity++) {
    const result: Record<string, FeatureResult> = {};
    for (let index = 0; index < views.length; index++) {
      const { plan, features } = views[index] as (typeof views)[number];
      const item = items.get(keys[entity * views.length + index] as string);
      const found = itemState(plan, item, nowMicros);
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

interface PlannedFeature {
  readonly feature: string;
  readonly outputName: string;
  readonly type: ValueType;
  /** What the feature is for an entity with no item: 0 for counts, else NULL. */
  readonly valueIfNoRows: number | null;
}

/** What a lookup needs of one view, worked out once per view rather than per request. */
interface ViewPlan {
  readonly view: RegistryFeatureView;
  readonly keyPrefix: string;
  readonly joinKeys: RegistryFeatureView['joinKeys'];
  readonly ttlMicros: bigint | undefined;
  feature(name: string, outputName: string): PlannedFeature;
}

const viewPlans = new WeakMap<RegistryFeatureView, ViewPlan>();

function viewPlan(view: RegistryFeatureView): ViewPlan {
  let plan = viewPlans.get(view);
  if (plan) return plan;
  const byName = new Map(
    view.features.map((f) => {
      const fn = view.aggregations?.find((agg) => agg.feature === f.name)?.function;
      const planned: PlannedFeature = {
        feature: f.name,
        outputName: f.name,
        type: f.type,
        valueIfNoRows: fn === 'count' || fn === 'count_distinct' ? 0 : null,
      };
      return [f.name, planned];
    }),
  );
  plan = {
    view,
    keyPrefix: view.onlineStore.keyPrefix,
    joinKeys: view.joinKeys,
    ttlMicros: view.ttlSeconds === undefined ? undefined : BigInt(view.ttlSeconds) * 1_000_000n,
    feature(name, outputName) {
      const planned = byName.get(name);
      if (!planned) throw new Error(`internal: feature ${name} is not in view ${view.name}`);
      return planned.outputName === outputName ? planned : { ...planned, outputName };
    },
  };
  viewPlans.set(view, plan);
  return plan;
}

/** Whether a view's item exists and is within TTL at read time: once per item, not per feature. */
function itemState(
  plan: ViewPlan,
  item: Record<string, AttributeValue> | undefined,
  nowMicros: bigint,
): { status: 'PRESENT' | 'NOT_FOUND' | 'OUTSIDE_TTL'; eventTimestamp: string | null } {
  if (!item) return { status: 'NOT_FOUND', eventTimestamp: null };
  const eventMicros = BigInt(item[a.eventTs]?.N ?? '0');
  const expired = plan.ttlMicros !== undefined && nowMicros - eventMicros > plan.ttlMicros;
  return { status: expired ? 'OUTSIDE_TTL' : 'PRESENT', eventTimestamp: microsToIso(eventMicros) };
}

/** DynamoDB rejects an expression string longer than 4 KB (its documented expression limit). */
export const maxExpressionBytes = 4096;

/**
 * The key, event time and each needed feature of the features map (`#f.#f0, …`), or the whole
 * features map when that expression would pass DynamoDB's 4 KB limit (past 419 distinct
 * features): real DynamoDB rejects the longer one, though the local server accepts it. Every
 * placeholder given is used, as DynamoDB requires.
 */
export function projectionFor(
  views: readonly RegistryFeatureView[],
): Pick<KeysAndAttributes, 'ProjectionExpression' | 'ExpressionAttributeNames'> {
  const names: Record<string, string> = { '#pk': a.key, '#e': a.eventTs, '#f': a.features };
  const paths = ['#pk', '#e'];
  const features = [...new Set(views.flatMap((v) => v.features.map((f) => f.name)))];
  features.forEach((feature, index) => {
    names[`#f${index}`] = feature;
    paths.push(`#f.#f${index}`);
  });
  const expression = paths.join(', ');
  if (Buffer.byteLength(expression, 'utf8') <= maxExpressionBytes)
    return { ProjectionExpression: expression, ExpressionAttributeNames: names };
  return {
    ProjectionExpression: '#pk, #e, #f',
    ExpressionAttributeNames: { '#pk': a.key, '#e': a.eventTs, '#f': a.features },
  };
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
