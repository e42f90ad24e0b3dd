import { epochMicrosOf, minusSeconds } from '../epoch-micros.ts';
import type { NumberedKeys } from './asof-key-ids.ts';
import { type Dialect, partitionDay } from './dialect.ts';
import type { PlannedView, PointInTimePlan } from './point-in-time-plan.ts';
import { featureValue, viewSourceRelation } from './view-source.ts';

export interface PointInTimeRenderOptions {
  /** Relation holding the entity rows: their columns plus `fstore_row_id` (the output order). */
  readonly entityRelation: string;
  /** When set, `entityRelation` is defined by this query as the first common table expression. */
  readonly entityQuery?: string;
  /** Entity columns to return, in order (join keys, timestamp, labels ...). */
  readonly entityColumns: readonly string[];
  /** Earliest and latest entity timestamp (ISO, UTC), used to prune `dt` partitions. */
  readonly entityTimeRange?: { readonly min: string; readonly max: string };
  /** Add a boolean column `fstore_match_<i>` per view: true when the view had a fresh row. */
  readonly matchFlags?: boolean;
  /**
   * Views whose source rows are known to have no two rows with the same join keys and event
   * time: the `asof` strategy joins them on the event time alone, with no tie-break.
   */
  readonly tieFreeViews?: ReadonlySet<string>;
  /**
   * Per source, when its rows carry their key tuple's number as `fstore_key_id` (a sorted copy):
   * the `asof` strategy joins the source's views on those keys by the number.
   */
  readonly numberedKeys?: ReadonlyMap<string, NumberedKeys>;
  /**
   * Per source, the first and last `dt` its relation holds, when known (a sorted copy): a
   * partition filter keeping all of them is left out. On a copy's rows `dt` is a column, read
   * and compared row by row (about 0.1 s of bench:pit's three-view join), not a file's path.
   */
  readonly heldDays?: ReadonlyMap<string, { readonly first: string; readonly last: string }>;
}

/**
 * Point-in-time join without a range join: per view, source rows and entity rows are merged
 * into one stream per entity key, sorted by time with source rows first on ties (event_ts <= t
 * is inclusive), and a window carries the latest source row forward to each entity row as one
 * non-NULL row value (so a NULL inside the winning row stays NULL). Ties at one event time go to
 * the greatest created time, then the greatest `fstore_seq` (the row ingested last).
 */
export function renderPointInTime(
  plan: PointInTimePlan,
  dialect: Dialect,
  options: PointInTimeRenderOptions,
): string {
  const q = dialect.quote;
  const ctes = plan.views.map(
    (view, index) =>
      `${q(`fstore_v${index}`)} AS (\n${renderViewWindow(plan, view, dialect, options)}\n)`,
  );
  const entityColumns = options.entityColumns.map((c) => `e.${q(c)}`);
  // A winner older than the view's TTL at the entity's time does not count (inclusive edge).
  const fresh = (view: PlannedView, index: number) => {
    const winnerTime = dialect.field(`${q(`v${index}`)}.fstore_win`, 'fstore_event_ts');
    return view.ttlSeconds === undefined
      ? `${winnerTime} IS NOT NULL`
      : `${winnerTime} >= ${dialect.minusSeconds(`e.${q(plan.entityTimestampColumn)}`, view.ttlSeconds)}`;
  };
  const featureColumns = plan.views.flatMap((view, index) =>
    view.features.map(
      (f) =>
        `CASE WHEN ${fresh(view, index)} THEN ${dialect.field(`${q(`v${index}`)}.fstore_win`, f.feature)} END AS ${q(f.outputName)}`,
    ),
  );
  const matchColumns = options.matchFlags
    ? plan.views.map(
        (view, index) => `COALESCE(${fresh(view, index)}, FALSE) AS ${q(`fstore_match_${index}`)}`,
      )
    : [];
  const joins = plan.views.map(
    (_, index) =>
      `LEFT JOIN ${q(`fstore_v${index}`)} ${q(`v${index}`)} ON ${q(`v${index}`)}.fstore_row_id = e.fstore_row_id`,
  );
  return [
    `WITH ${[...(options.entityQuery ? [`${options.entityRelation} AS (\n${options.entityQuery}\n)`] : []), ...ctes].join(',\n')}`,
    `SELECT ${[...entityColumns, ...featureColumns, ...matchColumns].join(',\n  ')}`,
    `FROM ${options.entityRelation} e`,
    ...joins,
    'ORDER BY e.fstore_row_id',
  ].join('\n');
}

function renderViewWindow(
  plan: PointInTimePlan,
  view: PlannedView,
  dialect: Dialect,
  options: PointInTimeRenderOptions,
): string {
  const q = dialect.quote;
  const keys = view.joinKeys.map((k) => q(k.name));
  // Each feature once: a feature both selected and read by an on-demand view (under a hidden
  // output name) is one field, which every output column of it reads by feature name.
  const features = view.features.filter(
    (f, i, all) => all.findIndex((o) => o.feature === f.feature) === i,
  );
  const values = dialect.struct([
    { name: 'fstore_event_ts', type: 'timestamp', expression: q(view.timestampColumn) },
    ...features.map((f) => ({
      name: f.feature,
      type: f.type,
      expression: featureValue(f, dialect),
    })),
  ]);
  const created = view.createdColumn
    ? q(view.createdColumn)
    : `CAST(NULL AS ${dialect.sqlType('timestamp')})`;
  const sourceRows = [
    `    SELECT ${keys.join(', ')}, ${q(view.timestampColumn)} AS fstore_ts, 0 AS fstore_kind, ${created} AS fstore_created,`,
    `      fstore_seq, ${values} AS fstore_values, CAST(NULL AS BIGINT) AS fstore_row_id`,
    `    FROM ${viewSourceRelation(view, dialect)}`,
    `    WHERE ${partitionFilter(view, dialect, options)}`,
  ];
  const entityRows = [
    `    SELECT ${keys.join(', ')}, ${q(plan.entityTimestampColumn)}, 1, CAST(NULL AS ${dialect.sqlType('timestamp')}),`,
    '      CAST(NULL AS BIGINT), NULL, fstore_row_id',
    `    FROM ${options.entityRelation}`,
  ];
  const over = `PARTITION BY ${keys.join(', ')} ORDER BY fstore_ts, fstore_kind, fstore_created NULLS FIRST, fstore_seq NULLS FIRST ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW`;
  return [
    '  SELECT fstore_row_id, fstore_win FROM (',
    '  SELECT fstore_kind, fstore_row_id,',
    `    ${dialect.lastValueIgnoringNulls('fstore_values', over)} AS fstore_win`,
    '  FROM (',
    ...sourceRows,
    '    UNION ALL',
    ...entityRows,
    '  ) fstore_merged',
    '  ) fstore_carried',
    '  WHERE fstore_kind = 1',
  ].join('\n');
}

/** Only partitions that can hold a winning row: from the earliest entity time minus TTL to the latest. */
export function partitionFilter(
  view: PlannedView,
  dialect: Dialect,
  options: PointInTimeRenderOptions,
): string {
  if (!options.entityTimeRange) return 'TRUE';
  const last = partitionDay(epochMicrosOf(options.entityTimeRange.max));
  const first =
    view.ttlSeconds === undefined
      ? undefined
      : partitionDay(minusSeconds(epochMicrosOf(options.entityTimeRange.min), view.ttlSeconds));
  const held = options.heldDays?.get(view.source);
  if (held && held.last <= last && (first === undefined || held.first >= first)) return 'TRUE';
  const upper = `${dialect.quote('dt')} <= ${dialect.literal(last)}`;
  if (first === undefined) return upper;
  return `${dialect.quote('dt')} >= ${dialect.literal(first)} AND ${upper}`;
}
