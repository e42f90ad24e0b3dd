import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { JoinKeyType } from '../definitions/index.ts';
import { type Dialect, quoteIdentifier, quoteLiteral } from '../sql/dialect.ts';
import { duckdbParquetFiles, duckdbType } from '../sql/duckdb-dialect.ts';
import { type PointInTimePlan, sourceLookbackSeconds } from '../sql/point-in-time-plan.ts';
import { type PartitionedFile, partitionedFile } from './dt-partition.ts';
import { queryRows } from './duckdb-session.ts';
import { type IngestRecord, type KeyTimeSet, presentCommittedSource } from './ingest-manifest.ts';
import { type KeyedWindow, keyedSourceRelation, sharedJoinKeys } from './keyed-scans.ts';
import { pinnedFileReads, pinnedFilesRelation } from './pinned-file-reads.ts';
import { pinnedRelation, type SeqPins, seqPinCondition } from './seq-pins.ts';
import { type SortedCopy, sortedCopyRelation } from './sorted-copy.ts';
import { uniqueKeyTimesOfSource } from './unique-key-times.ts';

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
  /**
   * Per source, its committed files as read once for this request (latest-row-days reads them
   * before the SQL is rendered); a source not here is read when its relation is made.
   */
  readonly committed?: ReadonlyMap<string, CommittedFiles | undefined>;
  /**
   * Per source, a relation over rows already read (latest-row-days keeps the rows its search
   * read) holding every row the request needs; read instead of the source's files.
   */
  readonly foundRows?: ReadonlyMap<string, string>;
  /**
   * Per source, the highest `fstore_seq` read (a replay or a snapshot): every read of the source,
   * the latest-row search included, keeps only rows at or below it, before a winner is chosen.
   */
  readonly pins?: SeqPins;
  /**
   * Per source, its sorted copy (sorted-copy.ts), read instead of its files: a large request
   * reading most of its days (sortedCopiesForRequest).
   */
  readonly sortedCopies?: ReadonlyMap<string, SortedCopy>;
}

/** A source's committed data files, and the first file of its newest ingest (its newest columns). */
export interface CommittedFiles {
  readonly files: readonly PartitionedFile[];
  readonly newest?: string;
  /** The key sets in which these files hold no tie (every record of the source carries them). */
  readonly uniqueKeyTimes: readonly KeyTimeSet[];
  /** The manifest's records these files were listed from (a pinned read sorts files by them). */
  readonly records?: readonly IngestRecord[];
}

/**
 * The scope of the entity rows in `entityTable`: for each source of `plan`, the merged day
 * ranges `[day(t - lookback), day(t)]` of its rows (a source without lookback limit reaches
 * every day up to the latest row's), and for a small request the distinct key values and each
 * row's window with its keys. One query reads the entity rows for all of it: the distinct
 * (day of t, day of t less each lookback[, key values]) of the rows, from which the rest is
 * grouped here.
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
  const sources = [...new Set(plan.views.map((v) => v.source))];
  const lookbackOf = new Map(sources.map((s) => [s, sourceLookbackSeconds(plan, s)]));
  const lookbacks = [...new Set(lookbackOf.values())].filter((l) => l !== undefined);
  const keyed = rows <= KEY_LIST_MAX_ROWS;
  const keys = keyed ? joinKeys : [];
  const found = await queryRows(
    connection,
    `SELECT ${[
      `${epochDay(t)} AS hi`,
      ...lookbacks.map(
        (seconds, i) => `${epochDay(`${t} - INTERVAL '${Math.trunc(seconds)}' SECOND`)} AS lo${i}`,
      ),
      ...keys.map((key, i) => `CAST(${quoteIdentifier(key.name)} AS VARCHAR) AS k${i}`),
      `epoch_us(min(${t})) AS earliest`,
    ].join(', ')} FROM ${entityTable} GROUP BY ALL`,
  );
  // Rows without a timestamp reach no day; their keys are still asked for.
  const timed = found.filter((r) => r.hi !== null && r.hi !== undefined);
  const lowerColumn = (lookback: number | undefined) =>
    lookback === undefined ? undefined : `lo${lookbacks.indexOf(lookback)}`;
  const sourceDays = new Map<string, DayRange[]>();
  for (const [source, lookback] of lookbackOf)
    sourceDays.set(source, dayRangesOf(timed, lowerColumn(lookback)));
  if (!keyed) return { sourceDays };

  const keyValues = new Map(
    keys.map((key, i) => [
      key.name,
      [...new Set(found.flatMap((r) => (isPresent(r[`k${i}`]) ? [String(r[`k${i}`])] : [])))]
        .sort()
        .map((value) => keyLiteral(value, key.type)),
    ]),
  );
  const windowsByLookback = new Map<number | undefined, KeyedWindow[]>();
  const keyedWindows = new Map<string, KeyedWindow[]>();
  for (const [source, lookback] of lookbackOf) {
    let windows = windowsByLookback.get(lookback);
    if (!windows) {
      windows = keyedWindowsOf(timed, lowerColumn(lookback), keys);
      windowsByLookback.set(lookback, windows);
    }
    keyedWindows.set(source, windows);
  }
  return { sourceDays, keyValues, keyedWindows };
}

const isPresent = (value: unknown) => value !== null && value !== undefined;

/** A join key value as the SQL literal the scans compare with: `CAST('<text>' AS <type>)`. */
function keyLiteral(text: string, type: JoinKeyType): string {
  return `CAST(${quoteLiteral(text)} AS ${duckdbType(type)})`;
}

/** The merged day ranges of `rows` (each `[row[lower], row.hi]`; all up to the latest `hi` without `lower`). */
function dayRangesOf(
  rows: readonly Record<string, unknown>[],
  lower: string | undefined,
): DayRange[] {
  if (rows.length === 0) return [];
  if (lower === undefined) return [{ to: Math.max(...rows.map((r) => Number(r.hi))) }];
  return mergeDayRanges(rows.map((r) => ({ from: Number(r[lower]), to: Number(r.hi) })));
}

/** Each distinct (window days, key values) of `rows`: what keyedSourceRelation asks each file for. */
function keyedWindowsOf(
  rows: readonly Record<string, unknown>[],
  lower: string | undefined,
  keys: readonly { name: string; type: JoinKeyType }[],
): KeyedWindow[] {
  const windows = new Map<string, KeyedWindow>();
  for (const row of rows) {
    const from = lower === undefined ? undefined : Number(row[lower]);
    const to = Number(row.hi);
    const values = keys.map((_, i) => row[`k${i}`]);
    const earliestMicros = BigInt(String(row.earliest));
    const identity = JSON.stringify([from ?? null, to, values]);
    const seen = windows.get(identity);
    if (seen) {
      if (earliestMicros < seen.earliestMicros) windows.set(identity, { ...seen, earliestMicros });
      continue;
    }
    // A NULL key is absent: it matches nothing.
    const present = keys.flatMap((key, i) =>
      isPresent(values[i]) ? [[key, String(values[i])] as const] : [],
    );
    windows.set(identity, {
      ...(from === undefined ? {} : { from }),
      to,
      keys: new Map(present.map(([key, value]) => [key.name, keyLiteral(value, key.type)])),
      values: new Map(present.map(([key, value]) => [key.name, value])),
      earliestMicros,
    });
  }
  return [...windows.values()];
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
 * the TTL check as they would unpruned, so results are the same. Each source's relation is
 * made once, from one read of the manifest, so every view of a source reads the same committed
 * files even when an ingest commits while the SQL is rendered.
 */
export function scopedDuckdbDialect(
  base: Dialect,
  offlineRoot: string,
  plan: PointInTimePlan,
  scope: RequestScope,
): Dialect {
  const relations = new Map<string, string>();
  const relationOf = (source: string) => {
    const found = scope.foundRows?.get(source);
    if (found) return pinnedRelation(found, scope.pins, source);
    const copy = scope.sortedCopies?.get(source);
    if (copy)
      return copy.withinPin
        ? sortedCopyRelation(copy)
        : pinnedRelation(sortedCopyRelation(copy), scope.pins, source);
    const files = scopedSourceFiles(offlineRoot, source, scope);
    const pin = scope.pins?.get(source);
    const committed = scope.committed?.get(source);
    // Pinned, with the manifest read that listed the files: each file read as the pin needs it.
    if (pin !== undefined && files && files.length > 0 && committed?.records)
      return pinnedFilesRelation({
        reads: pinnedFileReads(offlineRoot, source, files, committed.records, pin),
        condition: seqPinCondition(scope.pins, source) ?? 'TRUE',
        ...(committed.newest ? { newest: committed.newest } : {}),
        relationOf: (group) => filesRelation(source, group),
      });
    return pinnedRelation(filesRelation(source, files), scope.pins, source);
  };
  const filesRelation = (source: string, files: readonly PartitionedFile[] | undefined) => {
    const windows = scope.keyedWindows?.get(source);
    const keyed = files && windows && keyedSourceRelation(plan, source, windows, files);
    if (keyed) return keyed;
    const keyFilter = sourceKeyFilter(plan, source, scope);
    const relation =
      files && files.length > 0
        ? duckdbParquetFiles(files.map((f) => f.path))
        : base.sourceRelation(source);
    return keyFilter ? `(SELECT * FROM ${relation} WHERE ${keyFilter})` : relation;
  };
  return {
    ...base,
    sourceRelation: (source) => {
      const made = relations.get(source) ?? relationOf(source);
      relations.set(source, made);
      return made;
    },
  };
}

/**
 * The data files a training set in `scope` reads of `source`, each with its `dt` partition:
 * its committed files of the days the scope reaches, plus the newest ingest's first file.
 * Undefined for a store without a manifest, which is read whole (every Parquet file in a folder
 * of the source); empty when nothing is committed. The dry run lists these, so it names what
 * the run reads.
 */
export function scopedSourceFiles(
  offlineRoot: string,
  source: string,
  scope: RequestScope,
): PartitionedFile[] | undefined {
  const committed = scope.committed?.has(source)
    ? scope.committed.get(source)
    : committedSourceFiles(offlineRoot, source);
  if (!committed) return undefined;
  const { files, newest } = committed;
  const days = scope.sourceDays.get(source);
  if (!days) return [...files];
  const kept = files.filter((file) => file.day === undefined || reaches(days, file.day));
  // A file of the newest ingest carries the source's newest columns; without it, a request
  // reaching only older files would miss a column added since (union_by_name).
  if (newest && !kept.some((f) => f.path === newest)) kept.push(partitionedFile(newest));
  return kept.length > 0 ? kept : [...files];
}

/**
 * `scope` with the committed files of every source of `plan` read (those not read yet), so the
 * SQL reads the files, and relies on the absence of ties, of one snapshot of the manifest.
 */
export function withCommittedFiles(
  offlineRoot: string,
  plan: PointInTimePlan,
  scope: RequestScope,
): RequestScope {
  const committed = new Map(scope.committed);
  for (const view of plan.views)
    if (!committed.has(view.source))
      committed.set(view.source, committedSourceFiles(offlineRoot, view.source));
  return { ...scope, committed };
}

/** The committed files of `source` from one read of the manifest; undefined without a manifest. */
export function committedSourceFiles(
  offlineRoot: string,
  source: string,
): CommittedFiles | undefined {
  const committed = presentCommittedSource(offlineRoot, source);
  if (!committed) return undefined;
  const newest = newestIngestFile(offlineRoot, source, committed.records);
  return {
    files: committed.files.map(partitionedFile),
    ...(newest ? { newest } : {}),
    uniqueKeyTimes: uniqueKeyTimesOfSource(committed.records, source),
    records: committed.records,
  };
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

function newestIngestFile(
  offlineRoot: string,
  source: string,
  records: readonly IngestRecord[],
): string | undefined {
  for (let i = records.length - 1; i >= 0; i--) {
    const record = records[i];
    if (record?.source !== source) continue;
    const first = record.files?.[0];
    return first === undefined ? undefined : path.join(offlineRoot, first);
  }
  return undefined;
}
