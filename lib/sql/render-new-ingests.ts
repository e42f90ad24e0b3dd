import { formatMicros } from '../epoch-micros.ts';
import { type Dialect, partitionDay } from './dialect.ts';
import type { PlannedView } from './point-in-time-plan.ts';

/** The rows of the ingests a run has not seen: `fstore_seq` ranges and their partitions. */
export interface NewIngestFilter {
  /** Inclusive `fstore_seq` ranges, as decimal text (S3's sequence numbers pass 2^53). */
  readonly seqRanges: readonly (readonly [string, string])[];
  /** Partitions (`dt`) of those rows, to prune the scan; absent when unknown. */
  readonly days?: readonly string[];
}

/** A condition true of exactly the rows of the new ingests (`FALSE` when there are none). */
export function newRowsCondition(dialect: Dialect, filter: NewIngestFilter): string {
  if (filter.seqRanges.length === 0 || filter.days?.length === 0) return 'FALSE';
  for (const [first, last] of filter.seqRanges)
    if (!/^\d{1,19}$/.test(first) || !/^\d{1,19}$/.test(last) || BigInt(first) > BigInt(last))
      throw new Error(`not an fstore_seq range: ${first}..${last}`);
  const seq = filter.seqRanges
    .map(([first, last]) =>
      first === last ? `fstore_seq = ${first}` : `fstore_seq BETWEEN ${first} AND ${last}`,
    )
    .join(' OR ');
  const days = filter.days
    ? `${dialect.quote('dt')} IN (${filter.days.map((d) => dialect.literal(d)).join(', ')}) AND `
    : '';
  return `(${days}(${seq}))`;
}

/** `ts > instant`, with the `dt` bound that lets both engines skip older partitions. */
function eventsAfter(view: PlannedView, dialect: Dialect, instant: string): string {
  return `(${dialect.quote(view.timestampColumn)} > ${dialect.timestampLiteral(instant)} AND ${dialect.quote('dt')} >= ${dialect.literal(partitionDay(instant))})`;
}

/** `after < ts <= until` with its `dt` bounds. */
export function eventsBetween(
  view: PlannedView,
  dialect: Dialect,
  after: bigint,
  until: bigint,
): string | undefined {
  if (after >= until) return undefined;
  const ts = dialect.quote(view.timestampColumn);
  const dt = dialect.quote('dt');
  return `(${ts} > ${dialect.timestampLiteral(formatMicros(after))} AND ${ts} <= ${dialect.timestampLiteral(formatMicros(until))} AND ${dt} >= ${dialect.literal(partitionDay(after))} AND ${dt} <= ${dialect.literal(partitionDay(until))})`;
}

/**
 * The candidate rows of an incremental run of a passthrough view: rows of new ingests (any
 * event time, late ones included) and rows whose event time has come since the last run
 * (ingested before it, dated after it). An entity's newest candidate is written only if it
 * beats the online item (conditional put), which already holds the newest of all other rows.
 */
export function incrementalCandidates(
  view: PlannedView,
  dialect: Dialect,
  window: { readonly after?: string; readonly newIngests: NewIngestFilter },
): string {
  const parts = [newRowsCondition(dialect, window.newIngests)];
  if (window.after) parts.push(eventsAfter(view, dialect, window.after));
  return `(${parts.join(' OR ')})`;
}
