import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { RuntimeRegistry } from '../../registry/runtime-projection.ts';
import { itemAttributes as a, encodeValue } from '../item-codec.ts';
import type { PlannedLookup } from '../lookup-plan.ts';
import { finalValue } from './final-value.ts';
import { checkTilePrefix } from './tile-items.ts';
import type { TileState } from './tile-state.ts';
import { type ViewTileSpec, viewTileSpec } from './view-tile-spec.ts';
import {
  type DecodedItems,
  planWindowItems,
  type WindowItemsPlan,
  windowStateOfItems,
} from './window-items.ts';

type Item = Record<string, AttributeValue>;

/** One entity's read of one tile-fed view: where its answer goes and the items it needs. */
interface TileFedRead {
  /** Index into the lookup's `keys` / `items`. */
  readonly slot: number;
  readonly view: number;
  /** The view's online key for the entity: the tiles' prefix. */
  readonly prefix: string;
}

/** What a lookup reads for its tile-fed views, and how to turn it into their items. */
export interface TileLookupPlan {
  /** Every tile item key to read (each once). */
  readonly keys: readonly string[];
  /** The same keys by entity and view: the tiles' prefix (the view's online key for it). */
  readonly keysByPrefix: ReadonlyMap<string, readonly string[]>;
  /** Materialized items not to read: their views' requested features all come from tiles. */
  readonly unread: ReadonlySet<string>;
  /**
   * The items of the lookup with each tile-fed (entity, view) replaced by one built from its
   * tiles at `atMicros`: its features the window values, `count_distinct` ones taken from the
   * materialized item (0 without one), its event time the lookup's instant.
   */
  itemsWith(
    items: readonly (Item | undefined)[],
    read: {
      readonly tileItems: ReadonlyMap<string, Item>;
      /** Per entity (prefix) read under a write token: its windows' whole-tile states. */
      readonly windowTiles?: ReadonlyMap<string, Map<string, TileState>>;
    },
    decoded?: DecodedItems,
  ): (Item | undefined)[];
}

/**
 * The tile reads of a lookup at `atMicros` (ADR 0020, "Lookups"): for each requested view
 * with `onlineTiles` and a requested feature other than `count_distinct`, the items covering
 * the windows of the requested features, per entity. Views without tiles read as before.
 */
export function planTileLookup(
  registry: RuntimeRegistry,
  planned: PlannedLookup,
  atMicros: bigint,
): TileLookupPlan | undefined {
  const viewCount = planned.views.length;
  const fed = planned.views.map(({ plan, features }) => {
    const spec = viewTileSpec(registry, plan.view);
    if (!spec) return undefined;
    const byFeature = new Map(spec.aggregations.map((agg) => [agg.feature, agg]));
    const windows = [
      ...new Set(features.flatMap((f) => byFeature.get(f.feature)?.windowSeconds ?? [])),
    ];
    const materialized = features.some((f) => !byFeature.has(f.feature));
    if (windows.length === 0) return undefined;
    // The same items and tiles for every entity: worked out once per lookup.
    return { spec, windows, materialized, items: planWindowItems(atMicros, windows) };
  });
  if (fed.every((f) => f === undefined)) return undefined;
  const reads: TileFedRead[] = [];
  const keys = new Set<string>();
  const keysByPrefix = new Map<string, string[]>();
  const unread = new Set<string>();
  for (let entity = 0; entity < planned.entities.length; entity++)
    fed.forEach((tiles, view) => {
      if (!tiles) return;
      const slot = entity * viewCount + view;
      const prefix = planned.keys[slot] as string;
      if (!keysByPrefix.has(prefix)) {
        checkTilePrefix(prefix);
        const own = tiles.items.suffixes.map((suffix) => prefix + suffix);
        keysByPrefix.set(prefix, own);
        for (const key of own) keys.add(key);
      }
      reads.push({ slot, view, prefix });
      if (!tiles.materialized) unread.add(prefix);
    });
  // A key another view of the request reads as a materialized item stays read.
  fed.forEach((tiles, view) => {
    if (tiles?.materialized !== false)
      for (let entity = 0; entity < planned.entities.length; entity++)
        unread.delete(planned.keys[entity * viewCount + view] as string);
  });
  return {
    keys: [...keys],
    keysByPrefix,
    unread,
    itemsWith(items, { tileItems, windowTiles }, decoded = new WeakMap()) {
      const out = [...items];
      for (const read of reads) {
        const { spec, items: plan } = fed[read.view] as {
          spec: ViewTileSpec;
          items: WindowItemsPlan;
        };
        const features = planned.views[read.view]?.features ?? [];
        out[read.slot] = tileItem(
          spec,
          plan,
          features,
          read,
          items[read.slot],
          { tileItems, decoded, windowTiles: windowTiles?.get(read.prefix) },
          atMicros,
        );
      }
      return out;
    },
  };
}

function tileItem(
  spec: ViewTileSpec,
  plan: WindowItemsPlan,
  features: PlannedLookup['views'][number]['features'],
  read: TileFedRead,
  materialized: Item | undefined,
  {
    tileItems,
    decoded,
    windowTiles,
  }: {
    tileItems: ReadonlyMap<string, Item>;
    decoded: DecodedItems;
    windowTiles: Map<string, TileState> | undefined;
  },
  atMicros: bigint,
): Item {
  const stored = materialized?.[a.features]?.M ?? {};
  const values: Record<string, AttributeValue> = {};
  const states = new Map<string, TileState>();
  for (const feature of features) {
    const agg = spec.aggregations.find((x) => x.feature === feature.feature);
    if (!agg) {
      // count_distinct: batch-fresh, from the materialized item (no rows materialized: 0).
      values[feature.feature] = stored[feature.feature] ?? { N: '0' };
      continue;
    }
    const sumKind = spec.sumKinds[agg.column] ?? 'none';
    const id = `${agg.column}\u0000${agg.windowSeconds}`;
    let state = states.get(id);
    const parts = plan.windows.get(agg.windowSeconds);
    if (!state && parts) {
      state = windowStateOfItems(
        parts,
        tileItems,
        read.prefix,
        agg.column,
        sumKind,
        decoded,
        windowTiles,
      );
      states.set(id, state);
    }
    if (!state)
      throw new Error(`internal: window ${agg.windowSeconds}s of ${read.prefix} not planned`);
    values[feature.feature] = encodeValue(
      feature.type,
      finalValue(agg.function, state, atMicros),
      `${read.prefix} ${feature.feature}`,
    );
  }
  return {
    [a.key]: { S: read.prefix },
    [a.eventTs]: { N: String(atMicros) },
    [a.features]: { M: values },
  };
}
