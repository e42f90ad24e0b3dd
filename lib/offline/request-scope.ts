import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { JoinKeyType } from '../definitions/index.ts';
import { type Dialect, quoteIdentifier, quoteLiteral } from '../sql/dialect.ts';
import { duckdbParquetFiles, duckdbType } from '../sql/duckdb-dialect.ts';
import { type PointInTimePlan, sourceLookbackSeconds } from '../sql/point-in-time-plan.ts';
import { epochDayOfPartition, partitionOfPath } from './dt-partition.ts';
import { queryRows } from './duckdb-session.ts';
import { presentCommittedSourceFiles, readManifestSync } from './ingest-manifest.ts';
import {
  type KeyedWindow,
  keyedSourceRelation,
  keyedWindows,
  sharedJoinKeys,
} from './keyed-scans.ts';

/**
 * Up to this many entity rows, the source scans keep only rows whose join keys are among the
 * request's (an IN list DuckDB checks while it reads); above it, most keys are asked for anyway
 * and the list would cost more than it saves.
 */
export const KEY_LIST_MAX_ROWS = 1_000;

/** Inclusive range of days since 1970-01-01 (UTC); `from` undefined: no lower bound. */
export interface DayRange {
  readonly from?: number;
  readonly to: number;
}

/** What of the offline store a training-set request can reach. */
export interface RequestScope {
  /** Per source, the days its entity rows' windows reach (row time minus lookback .. row time). */
  readonly sourceDays: ReadonlyMap<string, readonly DayRange[]>;
  /**
   * Per join key column, the SQL literals of the request's distinct non-NULL values; only for
   * requests of at most KEY_LIST_MAX_ROWS rows.
   */
  readonly keyValues?: ReadonlyMap<string, readonly string[]>;
  /**
   * Per source, each entity row's window days and key values, so each file is asked only for
   * the keys whose windows reach it; only with `keyValues`.
   */
  readonly keyedWindows?: ReadonlyMap<string, readonly KeyedWindow[]>;
}

/**
 * The scope of the entity rows in `entityTable`: for each source of `plan`, the merged day
 * ranges `[day(t - lookback), day(t)]` of its rows (a source without lookback limit reaches
 * every day up to the latest row's), and for a small request the distinct key values.
 */
export async function requestScope(
  connection: DuckDBConnection,
  entityTable: string,
  plan: PointInTimePlan,
  rows: number,
  joinKeys: readonly { name: string; type: JoinKeyType }[],
): Promise<RequestScope> {
  const t = quoteIdentifier(plan.entityTimestampColumn);
  const epochDay = (expression: string) => `(CAST(${expression} AS DATE) - DATE '1970-01-01')`;
  const sourceDays = new Map<string, DayRange[]>();
  const byLookback = new Map<number | undefined, DayRange[]>();
  for (const source of new Set(plan.views.map((v) => v.source))) {
    const lookback = sourceLookbackSeconds(plan, source);
    let ranges = byLookback.get(lookback);
    if (!ranges) {
      const found = await queryRows(
        connection,
        lookback === undefined
          ? `SELECT max(${epochDay(t)}) AS hi FROM ${entityTable}`
          : `SELECT DISTINCT ${epochDay(`${t} - INTERVAL '${Math.trunc(lookback)}' SECOND`)} AS lo, ${epochDay(t)} AS hi FROM ${entityTable} WHERE ${t} IS NOT NULL`,
      );
      ranges = mergeDayRanges(
        found
          .filter((r) => r.hi !== null && r.hi !== undefined)
          .map((r) =>
            lookback === undefined
              ? { to: Number(r.hi) }
              : { from: Number(r.lo), to: Number(r.hi) },
          ),
      );
      byLookback.set(lookback, ranges);
    }
    sourceDays.set(source, ranges);
  }
  if (rows > KEY_LIST_MAX_ROWS) return { sourceDays };
  const keyValues = new Map<string, string[]>();
  for (const key of joinKeys) {
    const column = quoteIdentifier(key.name);
    const values = await queryRows(
      connection,
      `SELECT DISTINCT CAST(${column} AS VARCHAR) AS v FROM ${entityTable} WHERE ${column} IS NOT NULL ORDER BY v`,
    );
    keyValues.set(
      key.name,
      values.map((r) => `CAST(${quoteLiteral(String(r.v))} AS ${duckdbType(key.type)})`),
    );
  }
  return {
    sourceDays,
    keyValues,
    keyedWindows: await keyedWindows(connection, entityTable, plan, joinKeys),
  };
}

/** Sorted, overlapping or touching ranges joined. */
export function mergeDayRanges(ranges: readonly DayRange[]): DayRange[] {
  const sorted = [...ranges].sort(
    (a, b) => (a.from ?? Number.NEGATIVE_INFINITY) - (b.from ?? Number.NEGATIVE_INFINITY),
  );
  const merged: DayRange[] = [];
  for (const range of sorted) {
    const last = merged.at(-1);
    if (last && (range.from === undefined || range.from <= last.to + 1))
      merged[merged.length - 1] = { ...last, to: Math.max(last.to, range.to) };
    else merged.push(range);
  }
  return merged;
}

function reaches(ranges: readonly DayRange[], day: number): boolean {
  return ranges.some((r) => (r.from === undefined || r.from <= day) && day <= r.to);
}

/**
 * `base` (the DuckDB dialect over `offlineRoot`) reading, of each source, only the committed
 * files of the days `scope` reaches, and for a small request only the rows of its keys (of each
 * file, when the rows' windows give few enough key sets: keyedSourceRelation). Cost
 * then follows the request, not the store: DuckDB opens every file it is given, so a file
 * that cannot hold a candidate row is not named at all. Rows the scope keeps beyond what a
 * view needs (other days of a kept file, another view's keys) lose to in-window rows or fail
 * the TTL check as they would unpruned, so results are the same.
 */
export function scopedDuckdbDialect(
  base: Dialect,
  offlineRoot: string,
  plan: PointInTimePlan,
  scope: RequestScope,
): Dialect {
  return {
    ...base,
    sourceRelation: (source) => {
      const files = scopedSourceFiles(offlineRoot, source, scope);
      const windows = scope.keyedWindows?.get(source);
      const keyed = files && windows && keyedSourceRelation(plan, source, windows, files);
      if (keyed) return keyed;
      const keyFilter = sourceKeyFilter(plan, source, scope);
      const relation =
        files && files.length > 0 ? duckdbParquetFiles(files) : base.sourceRelation(source);
      return keyFilter ? `(SELECT * FROM ${relation} WHERE ${keyFilter})` : relation;
    },
  };
}

/**
 * The data files a training set in `scope` reads of `source`: its committed files of the days
 * the scope reaches, plus the newest ingest's first file. Undefined for a store without a
 * manifest, which is read whole (every Parquet file in a folder of the source); empty when nothing is
 * committed. The dry run lists these, so it names what the run reads.
 */
export function scopedSourceFiles(
  offlineRoot: string,
  source: string,
  scope: RequestScope,
): string[] | undefined {
  const files = presentCommittedSourceFiles(offlineRoot, source);
  const days = scope.sourceDays.get(source);
  if (!files || !days) return files;
  const kept = files.filter((file) => {
    const dt = partitionOfPath(file);
    return dt === undefined || reaches(days, epochDayOfPartition(dt));
  });
  // A file of the newest ingest carries the source's newest columns; without it, a request
  // reaching only older files would miss a column added since (union_by_name).
  const newest = newestIngestFile(offlineRoot, source);
  if (newest && !kept.includes(newest)) kept.push(newest);
  return kept.length > 0 ? kept : files;
}

/**
 * `key IN (...)` per join key every view on `source` shares (each view's needed rows have
 * such values among the request's), or undefined without a key list or a shared key.
 */
function sourceKeyFilter(
  plan: PointInTimePlan,
  source: string,
  scope: RequestScope,
): string | undefined {
  if (!scope.keyValues) return undefined;
  const conditions = sharedJoinKeys(plan, source).map((name) => {
    const values = scope.keyValues?.get(name) ?? [];
    // Only NULL keys asked for: a NULL key matches no row.
    return values.length === 0 ? 'FALSE' : `${quoteIdentifier(name)} IN (${values.join(', ')})`;
  });
  return conditions.length > 0 ? conditions.join(' AND ') : undefined;
}

function newestIngestFile(offlineRoot: string, source: string): string | undefined {
  const records = readManifestSync(offlineRoot) ?? [];
  for (let i = records.length - 1; i >= 0; i--) {
    const record = records[i];
    if (record?.source !== source) continue;
    const first = record.files?.[0];
    return first === undefined ? undefined : path.join(offlineRoot, first);
  }
  return undefined;
}
