import { type Dialect, partitionDay } from './dialect.ts';
import type { PlannedView } from './point-in-time-plan.ts';

export interface LatestWindow {
  /** Exclusive lower bound of event time (ISO, UTC); absent means from the beginning. */
  readonly after?: string;
  /** Inclusive upper bound of event time (ISO, UTC). */
  readonly until: string;
}

/**
 * The newest row per entity key among rows with `after < event_ts <= until`, using the same
 * winner rule as point-in-time joins (event time, then created time, then `fstore_seq`).
 * Materialization writes these rows to the online store.
 */
export function renderLatestPerEntity(
  view: PlannedView,
  dialect: Dialect,
  window: LatestWindow,
): string {
  const q = dialect.quote;
  const keys = view.joinKeys.map((k) => q(k.name));
  const ts = q(view.timestampColumn);
  const created = view.createdColumn
    ? q(view.createdColumn)
    : `CAST(NULL AS ${dialect.sqlType('timestamp')})`;
  const features = view.features.map((f) =>
    f.type === f.sourceType
      ? `${q(f.feature)} AS ${q(f.outputName)}`
      : `CAST(${q(f.feature)} AS ${dialect.sqlType(f.type)}) AS ${q(f.outputName)}`,
  );
  const lower = window.after
    ? [
        `${ts} > ${dialect.timestampLiteral(window.after)}`,
        `${q('dt')} >= ${dialect.literal(partitionDay(window.after))}`,
      ]
    : [];
  const conditions = [
    ...lower,
    `${ts} <= ${dialect.timestampLiteral(window.until)}`,
    `${q('dt')} <= ${dialect.literal(partitionDay(window.until))}`,
  ];
  return [
    `SELECT ${[...keys, ...features, `${ts} AS event_ts`, `${created} AS created_ts`].join(', ')}`,
    'FROM (',
    `  SELECT *, row_number() OVER (PARTITION BY ${keys.join(', ')} ORDER BY ${ts} DESC, ${created} DESC NULLS LAST, fstore_seq DESC) AS fstore_rank`,
    `  FROM ${dialect.sourceRelation(view.source)}`,
    `  WHERE ${conditions.join(' AND ')}`,
    ') fstore_ranked',
    'WHERE fstore_rank = 1',
  ].join('\n');
}
