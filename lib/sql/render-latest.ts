import type { JoinKeyType } from '../definitions/index.ts';
import { type Dialect, partitionDay } from './dialect.ts';
import type { PlannedView } from './point-in-time-plan.ts';
import { incrementalCandidates, type NewIngestFilter } from './render-new-ingests.ts';
import { featureValue, viewSourceRelation } from './view-source.ts';

export interface LatestWindow {
  /** Exclusive lower bound of event time (ISO, UTC); absent means from the beginning. */
  readonly after?: string;
  /** Inclusive lower bound of event time (ISO, UTC), for backfills given a start. */
  readonly from?: string;
  /** Inclusive upper bound of event time (ISO, UTC). */
  readonly until: string;
  /**
   * An incremental run: only rows of these new ingests, and rows with event time after `after`
   * (the last run's end), are candidates; `after` then bounds only the second kind.
   */
  readonly newIngests?: NewIngestFilter;
}

export interface LatestOptions {
  /** Order rows by the join keys, so a reader can resume after the last key it finished. */
  readonly orderByKey?: boolean;
  /** Only entities whose join keys sort after these values (in join-key order). */
  readonly afterKey?: readonly (string | number)[];
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
  options: LatestOptions = {},
): string {
  const q = dialect.quote;
  const keys = view.joinKeys.map((k) => q(k.name));
  const ts = q(view.timestampColumn);
  const created = view.createdColumn
    ? q(view.createdColumn)
    : `CAST(NULL AS ${dialect.sqlType('timestamp')})`;
  const features = view.features.map((f) => `${featureValue(f, dialect)} AS ${q(f.outputName)}`);
  const lowerBound = window.after ?? window.from;
  const lower = window.newIngests
    ? [incrementalCandidates(view, dialect, { ...window, newIngests: window.newIngests })]
    : lowerBound
      ? [
          `${ts} ${window.after ? '>' : '>='} ${dialect.timestampLiteral(lowerBound)}`,
          `${q('dt')} >= ${dialect.literal(partitionDay(lowerBound))}`,
        ]
      : [];
  const conditions = [
    ...lower,
    `${ts} <= ${dialect.timestampLiteral(window.until)}`,
    `${q('dt')} <= ${dialect.literal(partitionDay(window.until))}`,
  ];
  const resume = options.afterKey
    ? [`AND ${keysAfter(view.joinKeys, options.afterKey, dialect)}`]
    : [];
  return [
    `SELECT ${[...keys, ...features, `${ts} AS event_ts`, `${created} AS created_ts`, 'fstore_seq'].join(', ')}`,
    'FROM (',
    `  SELECT *, row_number() OVER (PARTITION BY ${keys.join(', ')} ORDER BY ${ts} DESC, ${created} DESC NULLS LAST, fstore_seq DESC) AS fstore_rank`,
    `  FROM ${viewSourceRelation(view, dialect)}`,
    `  WHERE ${conditions.join(' AND ')}`,
    ') fstore_ranked',
    'WHERE fstore_rank = 1',
    ...resume,
    ...(options.orderByKey || options.afterKey ? [`ORDER BY ${keys.join(', ')}`] : []),
  ].join('\n');
}

/** `(k1, k2) > (a, b)` spelled out, which both engines evaluate the same way. */
export function keysAfter(
  joinKeys: readonly { name: string; type: JoinKeyType }[],
  values: readonly (string | number)[],
  dialect: Dialect,
): string {
  if (values.length !== joinKeys.length)
    throw new Error(`resume key has ${values.length} values for ${joinKeys.length} join keys`);
  const literal = (index: number): string => {
    const key = joinKeys[index] as { name: string; type: JoinKeyType };
    const value = values[index];
    if (key.type === 'string') return dialect.literal(String(value));
    const text = String(value);
    if (!/^-?\d+$/.test(text)) throw new Error(`resume key ${key.name} is not an integer: ${text}`);
    return text;
  };
  const terms = joinKeys.map((_, index) =>
    [
      ...joinKeys.slice(0, index).map((k, i) => `${dialect.quote(k.name)} = ${literal(i)}`),
      `${dialect.quote(joinKeys[index]?.name ?? '')} > ${literal(index)}`,
    ].join(' AND '),
  );
  return `(${terms.map((t) => `(${t})`).join(' OR ')})`;
}
