import type { AggregationSpec } from '../../definitions/feature-view.ts';
import { listElementType, type ValueType } from '../../definitions/value-types.ts';
import { epochMicrosOf, formatMicros } from '../../epoch-micros.ts';
import type { RuntimeFeatureView, RuntimeRegistry } from '../../registry/runtime-projection.ts';
import { type SumKind, sumKindOf } from './tile-state.ts';
import type { TileValue } from './tile-values.ts';

/** What an aggregation view's tiles hold, worked out once per view (ADR 0020). */
export interface ViewTileSpec {
  /** The aggregations tiles serve: every one but `count_distinct`, which stays batch-fresh. */
  readonly aggregations: readonly AggregationSpec[];
  /** The `count_distinct` features: served from the materialized item only. */
  readonly batchFresh: readonly string[];
  /** How each aggregated column is summed, by source column. */
  readonly sumKinds: Readonly<Record<string, SumKind>>;
  /** Each aggregated column's source type. */
  readonly columnTypes: Readonly<Record<string, ValueType>>;
  readonly widestWindowSeconds: number;
}

const specs = new WeakMap<RuntimeFeatureView, ViewTileSpec | null>();

/**
 * The view's tile spec: undefined unless it is an online aggregation view with `onlineTiles`
 * and some feature other than `count_distinct` (those stay batch-fresh).
 */
export function viewTileSpec(
  registry: RuntimeRegistry,
  view: RuntimeFeatureView,
): ViewTileSpec | undefined {
  const known = specs.get(view);
  if (known !== undefined) return known ?? undefined;
  const spec = buildSpec(registry, view);
  specs.set(view, spec ?? null);
  return spec;
}

function buildSpec(registry: RuntimeRegistry, view: RuntimeFeatureView): ViewTileSpec | undefined {
  if (view.transform !== 'aggregation' || !view.online || !view.onlineTiles) return undefined;
  const all = view.aggregations ?? [];
  const aggregations = all.filter((a) => a.function !== 'count_distinct');
  if (aggregations.length === 0) return undefined;
  const source = registry.sources.find((s) => s.name === view.source);
  if (!source) throw new Error(`internal: view ${view.name} reads unknown source ${view.source}`);
  const columnTypes: Record<string, ValueType> = {};
  const sumKinds: Record<string, SumKind> = {};
  for (const { column } of aggregations) {
    const type = source.schema.find((c) => c.name === column)?.type;
    if (!type) throw new Error(`internal: column ${column} is not in source ${source.name}`);
    columnTypes[column] = type;
    sumKinds[column] = sumKindOf(type);
  }
  return {
    aggregations,
    batchFresh: all.filter((a) => a.function === 'count_distinct').map((a) => a.feature),
    sumKinds,
    columnTypes,
    widestWindowSeconds: Math.max(...aggregations.map((a) => a.windowSeconds)),
  };
}

/**
 * A pushed column value as tiles keep it: timestamps as one canonical ISO text (so text order
 * is time order), int64 decimal strings as bigints, float32 numbers rounded to the float32 the
 * offline store keeps (the training set aggregates that value, widened). A list is kept as `true`: lists are only
 * counted (`count`, `days_since_last`), never ordered or summed.
 */
export function tileValueOf(type: ValueType, value: unknown): TileValue | null {
  if (value === null || value === undefined) return null;
  if (listElementType(type)) return true;
  if (type === 'timestamp') return formatMicros(epochMicrosOf(String(value)));
  if (type === 'int64' && typeof value === 'string') return BigInt(value);
  if (type === 'float32' && typeof value === 'number') return Math.fround(value);
  return value as TileValue;
}
