import type { Dialect } from '../sql/dialect.ts';
import type { PlannedView } from '../sql/point-in-time-plan.ts';
import { renderAggregatesAt } from '../sql/render-aggregation.ts';
import { renderChangedAggregatesAt } from '../sql/render-changed-aggregates.ts';
import { keysAfter, type LatestWindow, renderLatestPerEntity } from '../sql/render-latest.ts';
import { renderShardOf } from '../sql/render-shard.ts';

export type ResumeKey = readonly (string | number)[];

export interface LatestRowsQuery {
  readonly view: PlannedView;
  readonly window: LatestWindow;
  /** Resume after the entity with these join-key values. */
  readonly afterKey?: ResumeKey;
  /** Only the entities of shard `index` of `count` (see lib/materialize/shard-plan.ts). */
  readonly shard?: { readonly index: number; readonly count: number };
}

/**
 * The offline engine as the materializer sees it: the newest row per entity of a window, in
 * join-key order, in batches, without holding the whole result in memory. Rows carry the join
 * keys and features by output name plus `event_ts`, `created_ts` and `fstore_seq`.
 */
export interface RowSource {
  latestRows(query: LatestRowsQuery): AsyncIterable<Record<string, unknown>[]>;
  /** How many rows `latestRows` will yield, when the engine can tell cheaply (for progress). */
  countLatest?(query: LatestRowsQuery): Promise<number>;
}

export function resumeKeyOf(view: PlannedView, row: Readonly<Record<string, unknown>>): ResumeKey {
  return view.joinKeys.map((key) => {
    const value = row[key.name];
    return typeof value === 'number' || typeof value === 'string' ? value : String(value);
  });
}

/**
 * The SQL of a materialization query: aggregates at the window's end (of the entities whose
 * values changed since the last run, in an incremental run), or the newest rows.
 */
export function renderMaterializationRows(
  query: LatestRowsQuery,
  dialect: Dialect,
  options: { orderByKey?: boolean } = {},
): string {
  const { shard } = query;
  if (shard && shard.count > 1) return renderShard(query, shard, dialect, options);
  const resume = { ...options, ...(query.afterKey ? { afterKey: query.afterKey } : {}) };
  const { window } = query;
  if (!query.view.aggregations) return renderLatestPerEntity(query.view, dialect, window, resume);
  if (!window.newIngests) return renderAggregatesAt(query.view, dialect, window, resume);
  if (!window.after)
    throw new Error(`an incremental run of ${query.view.view} needs the end of the last run`);
  return renderChangedAggregatesAt(
    query.view,
    dialect,
    { after: window.after, until: window.until, newIngests: window.newIngests },
    resume,
  );
}

/**
 * One shard's rows: the unsharded query filtered by the shard of its join keys, then resumed and
 * ordered by key outside, since the filter is on the query's output.
 */
function renderShard(
  query: LatestRowsQuery,
  shard: { readonly index: number; readonly count: number },
  dialect: Dialect,
  options: { orderByKey?: boolean },
): string {
  const { shard: _shard, afterKey, ...whole } = query;
  const keys = query.view.joinKeys;
  const conditions = [
    `${renderShardOf(keys, dialect, shard.count)} = ${shard.index}`,
    ...(afterKey ? [keysAfter(keys, afterKey, dialect)] : []),
  ];
  return [
    'SELECT * FROM (',
    renderMaterializationRows(whole, dialect),
    ') fstore_shard',
    `WHERE ${conditions.join(' AND ')}`,
    ...(options.orderByKey || afterKey
      ? [`ORDER BY ${keys.map((k) => dialect.quote(k.name)).join(', ')}`]
      : []),
  ].join('\n');
}
