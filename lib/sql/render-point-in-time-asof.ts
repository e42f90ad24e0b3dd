import type { Dialect } from './dialect.ts';
import type { PointInTimePlan } from './point-in-time-plan.ts';
import { type PointInTimeRenderOptions, partitionFilter } from './render-point-in-time.ts';

/**
 * The same contract as renderPointInTime, with DuckDB's ASOF JOIN, its fastest construct for
 * "latest row at or before t". The whole winner rule rides in one struct key compared
 * lexicographically: a source row is (event_ts, created_ts or -infinity, fstore_seq), an entity
 * row is (t, +infinity, max); the greatest source key <= the entity key is the row with the
 * latest event time <= t, then the latest created time, then the last ingested.
 */
export function renderPointInTimeAsof(
  plan: PointInTimePlan,
  dialect: Dialect,
  options: PointInTimeRenderOptions,
): string {
  if (dialect.name !== 'duckdb') throw new Error('ASOF JOIN rendering is DuckDB only');
  const q = dialect.quote;
  const entityTs = q(plan.entityTimestampColumn);
  const entity = `(SELECT *, struct_pack(t := ${entityTs}, c := 'infinity'::TIMESTAMP, s := 9223372036854775807::BIGINT) AS fstore_pos FROM ${options.entityRelation})`;
  const joins = plan.views.map((view, index) => {
    const alias = q(`f${index}`);
    const keys = view.joinKeys.map((k) => q(k.name));
    const created = view.createdColumn
      ? `coalesce(${q(view.createdColumn)}, '-infinity'::TIMESTAMP)`
      : `'-infinity'::TIMESTAMP`;
    const features = view.features.map((f) =>
      f.type === f.sourceType
        ? q(f.feature)
        : `CAST(${q(f.feature)} AS ${dialect.sqlType(f.type)}) AS ${q(f.feature)}`,
    );
    const rows = [
      `SELECT ${keys.join(', ')}, ${q(view.timestampColumn)} AS fstore_event_ts, ${features.join(', ')},`,
      `  struct_pack(t := ${q(view.timestampColumn)}, c := ${created}, s := fstore_seq) AS fstore_pos`,
      `  FROM ${dialect.sourceRelation(view.source)} WHERE ${partitionFilter(view, dialect, options)}`,
    ].join('\n');
    const on = [
      ...view.joinKeys.map((k) => `e.${q(k.name)} = ${alias}.${q(k.name)}`),
      `e.fstore_pos >= ${alias}.fstore_pos`,
    ];
    return `ASOF LEFT JOIN (\n${rows}\n) ${alias} ON ${on.join(' AND ')}`;
  });
  const fresh = (index: number, ttlSeconds: number | undefined) =>
    ttlSeconds === undefined
      ? `${q(`f${index}`)}.fstore_event_ts IS NOT NULL`
      : `${q(`f${index}`)}.fstore_event_ts >= ${dialect.minusSeconds(`e.${entityTs}`, ttlSeconds)}`;
  const featureColumns = plan.views.flatMap((view, index) =>
    view.features.map(
      (f) =>
        `CASE WHEN ${fresh(index, view.ttlSeconds)} THEN ${q(`f${index}`)}.${q(f.feature)} END AS ${q(f.outputName)}`,
    ),
  );
  const matchColumns = options.matchFlags
    ? plan.views.map(
        (view, index) =>
          `COALESCE(${fresh(index, view.ttlSeconds)}, FALSE) AS ${q(`fstore_match_${index}`)}`,
      )
    : [];
  return [
    `SELECT ${[...options.entityColumns.map((c) => `e.${q(c)}`), ...featureColumns, ...matchColumns].join(',\n  ')}`,
    `FROM ${entity} e`,
    ...joins,
    'ORDER BY e.fstore_row_id',
  ].join('\n');
}
