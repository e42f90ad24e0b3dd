import type { AttributeValue, KeysAndAttributes } from '@aws-sdk/client-dynamodb';
import type { ValueType } from '../definitions/index.ts';
import type { RuntimeFeatureView, RuntimeRegistry } from '../registry/runtime-projection.ts';
import { encodeEntityKey, partitionKey } from './entity-key.ts';
import { int64KeysAsBigint } from './integer-join-keys.ts';
import { itemAttributes as a, microsToIso } from './item-codec.ts';

export type FeatureStatus = 'PRESENT' | 'NOT_FOUND' | 'OUTSIDE_TTL' | 'NULL_VALUE';

export interface LookupRequest {
  /** Features to return, grouped by view, with the names they are returned under. */
  readonly views: readonly {
    readonly view: string;
    readonly features: readonly { feature: string; outputName: string }[];
  }[];
  readonly entities: readonly Readonly<Record<string, unknown>>[];
}

export type Item = Record<string, AttributeValue>;

export interface PlannedFeature {
  readonly feature: string;
  readonly outputName: string;
  readonly type: ValueType;
  /** What the feature is for an entity with no item: 0 for counts, else NULL. */
  readonly valueIfNoRows: number | null;
  /** `"<outputName>":{`, the start of the feature's entry in an answer's JSON text. */
  readonly keyJson: string;
}

/** What a lookup needs of one view, worked out once per view rather than per request. */
export interface ViewPlan {
  readonly view: RuntimeFeatureView;
  readonly keyPrefix: string;
  readonly joinKeys: RuntimeFeatureView['joinKeys'];
  /** The join keys' names and types: views that share it share an entity's key text. */
  readonly joinKeySignature: string;
  readonly ttlMicros: bigint | undefined;
  feature(name: string, outputName: string): PlannedFeature;
}

export type Projection = Pick<
  KeysAndAttributes,
  'ProjectionExpression' | 'ExpressionAttributeNames'
>;

/** A request resolved against the registry: each view's plan and features, and every item key. */
export interface PlannedLookup {
  readonly views: readonly {
    readonly plan: ViewPlan;
    readonly features: readonly PlannedFeature[];
  }[];
  readonly entities: LookupRequest['entities'];
  /** The partition key of each entity's item of each view: `keys[entity * views.length + view]`. */
  readonly keys: readonly string[];
  readonly projection: Projection;
}

const viewPlans = new WeakMap<RuntimeFeatureView, ViewPlan>();
const viewsByName = new WeakMap<RuntimeRegistry, Map<string, RuntimeFeatureView>>();
const projections = new WeakMap<RuntimeRegistry, Map<string, Projection>>();
/** Distinct view lists kept per registry; a service has a handful, so this bound is never near. */
const maxProjectionsPerRegistry = 1000;

/**
 * Resolves a request's views and features against the registry and computes the key of every
 * item it reads. Refuses, as a bug of the caller, a view or feature the registry lacks and an
 * output name given twice (a feature service's output names are unique by definition).
 */
export function planLookup(registry: RuntimeRegistry, request: LookupRequest): PlannedLookup {
  const byName = viewIndex(registry);
  const outputNames = new Set<string>();
  const views = request.views.map((selection) => {
    const view = byName.get(selection.view);
    if (!view) throw new Error(`internal: view ${selection.view} is not in the registry`);
    const plan = viewPlan(view);
    const features = selection.features.map((f) => {
      if (outputNames.has(f.outputName))
        throw new Error(`internal: output name ${f.outputName} is requested twice`);
      outputNames.add(f.outputName);
      return plan.feature(f.feature, f.outputName);
    });
    return { plan, features };
  });
  const keys: string[] = [];
  for (const entity of request.entities) {
    let signature: string | undefined;
    let entityKey = '';
    for (const { plan } of views) {
      if (plan.joinKeySignature !== signature) {
        signature = plan.joinKeySignature;
        entityKey = encodeEntityKey(plan.joinKeys, int64KeysAsBigint(plan.joinKeys, entity));
      }
      keys.push(partitionKey(plan.keyPrefix, entityKey));
    }
  }
  return {
    views,
    entities: request.entities,
    keys,
    projection: projectionOf(
      registry,
      views.map((v) => v.plan.view),
    ),
  };
}

/** Whether a view's item exists and is within TTL at read time. */
export type ItemStatus = 'PRESENT' | 'NOT_FOUND' | 'OUTSIDE_TTL';

/** Whether a view's item exists and is within TTL at read time: once per item, not per feature. */
export function itemState(
  plan: ViewPlan,
  item: Item | undefined,
  nowMicros: bigint,
): { status: ItemStatus; eventTimestamp: string | null } {
  if (!item) return { status: 'NOT_FOUND', eventTimestamp: null };
  const eventText = item[a.eventTs]?.N ?? '0';
  const eventMicros = BigInt(eventText);
  const expired = plan.ttlMicros !== undefined && nowMicros - eventMicros > plan.ttlMicros;
  return {
    status: expired ? 'OUTSIDE_TTL' : 'PRESENT',
    eventTimestamp: isoOf(eventText, eventMicros),
  };
}

/**
 * itemState's status alone, without the event time's text: an on-demand input needs only
 * whether its item is there and within TTL (formatting the time is most of itemState's cost).
 */
export function itemStatus(
  plan: ViewPlan,
  item: Item | undefined,
  nowMicros: bigint,
): 'PRESENT' | 'NOT_FOUND' | 'OUTSIDE_TTL' {
  if (!item) return 'NOT_FOUND';
  if (plan.ttlMicros === undefined) return 'PRESENT';
  return nowMicros - BigInt(item[a.eventTs]?.N ?? '0') > plan.ttlMicros ? 'OUTSIDE_TTL' : 'PRESENT';
}

// Items of one materialization run often share their event time (aggregation views stamp the run's).
let lastEventText = '';
let lastEventIso = '';
function isoOf(eventText: string, eventMicros: bigint): string {
  if (eventText !== lastEventText) {
    lastEventIso = microsToIso(eventMicros);
    lastEventText = eventText;
  }
  return lastEventIso;
}

function viewIndex(registry: RuntimeRegistry): Map<string, RuntimeFeatureView> {
  let index = viewsByName.get(registry);
  if (!index) {
    index = new Map(registry.featureViews.map((v) => [v.name, v]));
    viewsByName.set(registry, index);
  }
  return index;
}

function viewPlan(view: RuntimeFeatureView): ViewPlan {
  let plan = viewPlans.get(view);
  if (plan) return plan;
  const planned = (name: string, outputName: string): PlannedFeature | undefined => {
    const f = view.features.find((candidate) => candidate.name === name);
    if (!f) return undefined;
    const fn = view.aggregations?.find((agg) => agg.feature === name)?.function;
    return {
      feature: name,
      outputName,
      type: f.type,
      valueIfNoRows: fn === 'count' || fn === 'count_distinct' ? 0 : null,
      keyJson: `${JSON.stringify(outputName)}:{`,
    };
  };
  // Keyed by feature and output name: a service may serve a feature under an alias.
  const features = new Map<string, PlannedFeature>();
  plan = {
    view,
    keyPrefix: view.onlineStore.keyPrefix,
    joinKeys: view.joinKeys,
    joinKeySignature: view.joinKeys.map((k) => `${k.name}:${k.type}`).join('|'),
    ttlMicros: view.ttlSeconds === undefined ? undefined : BigInt(view.ttlSeconds) * 1_000_000n,
    feature(name, outputName) {
      const id = `${name}\u0000${outputName}`;
      let found = features.get(id);
      if (!found) {
        found = planned(name, outputName);
        if (!found) throw new Error(`internal: feature ${name} is not in view ${view.name}`);
        features.set(id, found);
      }
      return found;
    },
  };
  viewPlans.set(view, plan);
  return plan;
}

function projectionOf(registry: RuntimeRegistry, views: readonly RuntimeFeatureView[]): Projection {
  let cache = projections.get(registry);
  if (!cache) {
    cache = new Map();
    projections.set(registry, cache);
  }
  const id = views.map((v) => v.name).join(',');
  let projection = cache.get(id);
  if (!projection) {
    if (cache.size >= maxProjectionsPerRegistry) cache.clear();
    projection = projectionFor(views);
    cache.set(id, projection);
  }
  return projection;
}

/** DynamoDB rejects an expression string longer than 4 KB (its documented expression limit). */
export const maxExpressionBytes = 4096;

/**
 * The key, event time and each needed feature of the features map (`#f.#f0, …`), or the whole
 * features map when that expression would pass DynamoDB's 4 KB limit (past 419 distinct
 * features): real DynamoDB rejects the longer one, though the local server accepts it. Every
 * placeholder given is used, as DynamoDB requires.
 */
export function projectionFor(views: readonly RuntimeFeatureView[]): Projection {
  const names: Record<string, string> = { '#pk': a.key, '#e': a.eventTs, '#f': a.features };
  const paths = ['#pk', '#e'];
  const features = [...new Set(views.flatMap((v) => v.features.map((f) => f.name)))];
  features.forEach((feature, index) => {
    names[`#f${index}`] = feature;
    paths.push(`#f.#f${index}`);
  });
  const expression = paths.join(', ');
  // Frozen: one projection serves every request with the same views.
  if (Buffer.byteLength(expression, 'utf8') <= maxExpressionBytes)
    return Object.freeze({
      ProjectionExpression: expression,
      ExpressionAttributeNames: Object.freeze(names),
    });
  return Object.freeze({
    ProjectionExpression: '#pk, #e, #f',
    ExpressionAttributeNames: Object.freeze({ '#pk': a.key, '#e': a.eventTs, '#f': a.features }),
  });
}
