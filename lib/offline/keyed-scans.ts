import { quoteIdentifier } from '../sql/dialect.ts';
import { duckdbParquetFiles } from '../sql/duckdb-dialect.ts';
import type { PointInTimePlan } from '../sql/point-in-time-plan.ts';
import type { PartitionedFile } from './dt-partition.ts';

/**
 * At most this many differently filtered scans of one source; a request whose rows' windows
 * give more key sets reads all its files with one key list instead. A 10-row request over a
 * year gives about 11; planning each scan costs a few milliseconds.
 */
export const MAX_KEYED_SCANS = 64;

/** One entity row's reach into a source: the days of its window and its join key values. */
export interface KeyedWindow {
  /** Days since 1970-01-01 (UTC), inclusive; `from` undefined: no lower bound. */
  readonly from?: number;
  readonly to: number;
  /** Join key column → SQL literal of the row's value; a NULL key is absent (it matches nothing). */
  readonly keys: ReadonlyMap<string, string>;
  /** Join key column → the value as DuckDB casts it to VARCHAR; a NULL key is absent. */
  readonly values: ReadonlyMap<string, string>;
  /** The earliest entity time (microseconds since 1970) of the rows this window stands for. */
  readonly earliestMicros: bigint;
}

/** The join key columns every view on `source` has (each view's needed rows carry them). */
export function sharedJoinKeys(plan: PointInTimePlan, source: string): string[] {
  const views = plan.views.filter((v) => v.source === source);
  return (views[0]?.joinKeys ?? [])
    .map((k) => k.name)
    .filter((name) => views.every((v) => v.joinKeys.some((k) => k.name === name)));
}

/**
 * `files` of `source` read as one scan per key set: each file keeps only the rows whose shared
 * join keys are among those of the entity rows whose windows reach its `dt` day (a file outside
 * any `dt` partition: every row's keys), the scans joined BY NAME (files of older ingests may
 * lack newer columns). A 10-row request over a year of day files then asks each file for one to
 * three keys instead of ten. Undefined when the views share no key or the key sets number more
 * than MAX_KEYED_SCANS. A row kept here that its own view does not need (another row's key on
 * a day outside this row's window) loses to in-window rows or fails the TTL check, as unpruned.
 */
export function keyedSourceRelation(
  plan: PointInTimePlan,
  source: string,
  windows: readonly KeyedWindow[],
  files: readonly PartitionedFile[],
): string | undefined {
  const shared = sharedJoinKeys(plan, source);
  if (shared.length === 0 || files.length === 0) return undefined;
  const scans = new Map<string, string[]>();
  for (const { path: file, day } of files) {
    const reaching = windows.filter(
      (w) => day === undefined || ((w.from === undefined || w.from <= day) && day <= w.to),
    );
    const filter = keyCondition(shared, reaching);
    const group = scans.get(filter);
    if (group) group.push(file);
    else scans.set(filter, [file]);
  }
  if (scans.size > MAX_KEYED_SCANS) return undefined;
  const selects = [...scans].map(
    ([filter, group]) => `SELECT * FROM ${duckdbParquetFiles(group)} WHERE ${filter}`,
  );
  return `(${selects.join(' UNION ALL BY NAME ')})`;
}

/** `k IN (...)` per shared key over the windows' values, or FALSE when one has none. */
export function keyCondition(shared: readonly string[], windows: readonly KeyedWindow[]): string {
  const conditions = shared.map((name) => {
    const values = [
      ...new Set(windows.flatMap((w) => (w.keys.has(name) ? [w.keys.get(name) as string] : []))),
    ].sort();
    return values.length === 0 ? 'FALSE' : `${quoteIdentifier(name)} IN (${values.join(', ')})`;
  });
  return conditions.includes('FALSE') ? 'FALSE' : conditions.join(' AND ');
}
