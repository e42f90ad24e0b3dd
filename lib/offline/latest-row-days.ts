import type { DuckDBConnection } from '@duckdb/node-api';
import { quoteIdentifier, quoteLiteral } from '../sql/dialect.ts';
import { duckdbParquetFiles } from '../sql/duckdb-dialect.ts';
import type { PointInTimePlan } from '../sql/point-in-time-plan.ts';
import { featureSourceColumns } from '../sql/view-source.ts';
import type { PartitionedFile } from './dt-partition.ts';
import { queryRows } from './duckdb-session.ts';
import { type KeyedWindow, keyCondition, sharedJoinKeys } from './keyed-scans.ts';
import { pinnedFileReads } from './pinned-file-reads.ts';
import {
  committedSourceFiles,
  mergeDayRanges,
  type RequestScope,
  scopedSourceFiles,
} from './request-scope.ts';
import { seqPinCondition } from './seq-pins.ts';

/**
 * Days searched back from a window's last day, round by round: 1, then 2, 4, 8 ... more. Most
 * keys have a row within a few days of the entity time, so the search stops long before the TTL.
 */
const FIRST_ROUND_DAYS = 1;

/** Names the temporary tables of searched rows apart within one connection. */
let foundTables = 0;

/**
 * `scope` with each keyed window of a source whose views all take the latest row (no
 * aggregation) narrowed to the days from the latest day holding a row of its keys at or before
 * its entity time: the winner is on that day or later, since every row of an earlier day is
 * older (files are partitioned by the day of their event time; ties fall on one day). The
 * search reads the day files' rows of the windows' keys, the latest days first, doubling the
 * span each round, so a 10-row request over a 30-day TTL reads a few days per row instead of 31.
 * The rows each round reads are kept in a temporary table and become the source's relation
 * (`foundRows`): every day of a narrowed window was searched with its keys, so they hold every
 * row the join needs, and the join reads no file again.
 * A window with no such row keeps only its last day (rows there after its earliest entity time
 * can still be some row's candidate). Sources with aggregation views, sources whose views do not
 * all have the same join keys, files outside a `dt` partition and requests without keyed windows
 * (over KEY_LIST_MAX_ROWS rows) are left as they are.
 */
export async function narrowToLatestRowDays(
  connection: DuckDBConnection,
  offlineRoot: string,
  plan: PointInTimePlan,
  scope: RequestScope,
): Promise<RequestScope> {
  if (!scope.keyedWindows) return scope;
  const keyedWindows = new Map(scope.keyedWindows);
  const sourceDays = new Map(scope.sourceDays);
  const committed = new Map(scope.committed);
  const foundRows = new Map(scope.foundRows);
  for (const [source, windows] of scope.keyedWindows) {
    const views = plan.views.filter((v) => v.source === source);
    const shared = sharedJoinKeys(plan, source);
    // The search finds the latest row of the shared keys; a view with more keys (customer and
    // product beside customer alone) may have its own latest row on an earlier day.
    // A row filter may drop the latest row, so the winner can be on an earlier day: such
    // sources are read whole (the filter is not applied while searching days).
    if (
      views.some((v) => v.aggregations || v.rowFilter || v.joinKeys.length !== shared.length) ||
      shared.length === 0
    )
      continue;
    // Read once: the SQL rendered next reads the same snapshot of the manifest.
    if (!committed.has(source)) committed.set(source, committedSourceFiles(offlineRoot, source));
    const listed = scopedSourceFiles(offlineRoot, source, { ...scope, committed });
    if (!listed) continue;
    // Pinned: files holding no row within the pin are not searched (pinned-file-reads.ts).
    const pin = scope.pins?.get(source);
    const records = committed.get(source)?.records;
    const skipped = new Set(
      pin !== undefined && records
        ? pinnedFileReads(offlineRoot, source, listed, records, pin).skipped.map((f) => f.path)
        : [],
    );
    const files = listed.filter((file) => !skipped.has(file.path));
    const search = await searchLatestRowDays(
      connection,
      plan,
      source,
      windows,
      files,
      views[0]?.timestampColumn ?? '',
      seqPinCondition(scope.pins, source),
    );
    const narrowed = search.windows;
    keyedWindows.set(source, narrowed);
    const relation = foundRowsRelation(search.tables, files, committed.get(source)?.newest);
    if (relation) foundRows.set(source, relation);
    else foundRows.delete(source);
    sourceDays.set(
      source,
      mergeDayRanges(
        narrowed.map((w) => ({ ...(w.from === undefined ? {} : { from: w.from }), to: w.to })),
      ),
    );
  }
  return { ...scope, sourceDays, keyedWindows, committed, foundRows };
}

/**
 * The searched rows as one relation, with the columns of the source's newest ingest (its first
 * file, read for its schema only: older files may lack a column added since). Undefined when
 * nothing was searched, or when a file outside a `dt` partition holds rows the search skipped.
 */
function foundRowsRelation(
  tables: readonly string[],
  files: readonly PartitionedFile[],
  newest: string | undefined,
): string | undefined {
  if (tables.length === 0 || files.some((file) => file.day === undefined)) return undefined;
  const selects = [
    ...tables.map((table) => `SELECT * FROM ${table}`),
    ...(newest ? [`SELECT * FROM ${duckdbParquetFiles([newest])} WHERE FALSE`] : []),
  ];
  return `(${selects.join(' UNION ALL BY NAME ')})`;
}

interface Search {
  readonly window: KeyedWindow;
  /** The earliest day the window can reach: its first, or the source's earliest file day. */
  readonly lowest: number;
  /** Days above this one are searched. */
  searchedDownTo: number;
  found?: number;
}

async function searchLatestRowDays(
  connection: DuckDBConnection,
  plan: PointInTimePlan,
  source: string,
  windows: readonly KeyedWindow[],
  files: readonly PartitionedFile[],
  timestampColumn: string,
  pinCondition: string | undefined,
): Promise<{ windows: KeyedWindow[]; tables: string[] }> {
  const filesByDay = new Map<number, string[]>();
  for (const file of files) {
    if (file.day === undefined) continue;
    filesByDay.set(file.day, [...(filesByDay.get(file.day) ?? []), file.path]);
  }
  const days = [...filesByDay.keys()];
  if (days.length === 0) return { windows: [...windows], tables: [] };
  const earliestDay = Math.min(...days);
  const shared = sharedJoinKeys(plan, source);
  const searches: Search[] = windows.map((window) => ({
    window,
    lowest: Math.max(window.from ?? earliestDay, earliestDay),
    searchedDownTo: window.to + 1,
    // A NULL key matches no row: nothing to search for.
    ...(shared.every((name) => window.values.has(name)) ? {} : { found: window.to }),
  }));
  const tables: string[] = [];
  for (let span = FIRST_ROUND_DAYS; ; span *= 2) {
    const open = searches.filter((s) => s.found === undefined && s.searchedDownTo > s.lowest);
    if (open.length === 0) break;
    const round = open.map((search) => ({
      search,
      from: Math.max(search.lowest, search.searchedDownTo - span),
      to: search.searchedDownTo - 1,
    }));
    const { hits, table } = await latestRowsOf(
      connection,
      { shared, timestampColumn, columns: joinColumns(plan, source), pinCondition },
      round,
      filesByDay,
    );
    if (table) tables.push(table);
    for (const { search, from } of round) {
      search.found = latestHitDay(search.window, shared, hits, from);
      search.searchedDownTo = from;
    }
  }
  return {
    windows: searches.map(({ window, found }) => ({ ...window, from: found ?? window.to })),
    tables,
  };
}

interface Hit {
  readonly day: number;
  readonly keys: readonly string[];
  readonly earliestMicros: bigint;
}

/**
 * Reads the rows of the round's keys on its days into a new temporary table (every column: they
 * are the join's rows too), and gives per day and key values the earliest event time among them.
 */
async function latestRowsOf(
  connection: DuckDBConnection,
  read: {
    shared: readonly string[];
    timestampColumn: string;
    columns: readonly string[];
    /** A pinned read's `fstore_seq` bound: rows above it are no candidates, nor searched for. */
    pinCondition: string | undefined;
  },
  round: readonly { search: Search; from: number; to: number }[],
  filesByDay: ReadonlyMap<number, readonly string[]>,
): Promise<{ hits: Hit[]; table?: string }> {
  const { shared, timestampColumn } = read;
  const windowsByDay = new Map<number, KeyedWindow[]>();
  for (const { search, from, to } of round)
    for (let day = from; day <= to; day++)
      if (filesByDay.has(day))
        windowsByDay.set(day, [...(windowsByDay.get(day) ?? []), search.window]);
  const scans = new Map<string, string[]>();
  for (const [day, windows] of windowsByDay) {
    const filter = keyCondition(shared, windows);
    if (filter === 'FALSE') continue;
    scans.set(filter, [...(scans.get(filter) ?? []), ...(filesByDay.get(day) ?? [])]);
  }
  if (scans.size === 0) return { hits: [] };
  const table = `fstore_found_${++foundTables}`;
  // COLUMNS keeps those of the list a file group has (older files may lack a newer column).
  const columns = `COLUMNS(c -> list_contains([${read.columns.map(quoteLiteral).join(', ')}], c))`;
  const relation = [...scans]
    .map(
      ([filter, group]) =>
        `SELECT ${columns} FROM ${duckdbParquetFiles(group)} WHERE ${filter}${read.pinCondition ? ` AND ${read.pinCondition}` : ''}`,
    )
    .join(' UNION ALL BY NAME ');
  await connection.run(`CREATE TEMP TABLE ${table} AS ${relation}`);
  const ts = quoteIdentifier(timestampColumn);
  const rows = await queryRows(
    connection,
    `SELECT CAST(${ts} AS DATE) - DATE '1970-01-01' AS day, ${shared.map((k, i) => `CAST(${quoteIdentifier(k)} AS VARCHAR) AS k${i}`).join(', ')}, epoch_us(min(${ts})) AS earliest FROM ${table} GROUP BY ALL`,
  );
  const hits = rows.map((row) => ({
    day: Number(row.day),
    keys: shared.map((_, i) => String(row[`k${i}`])),
    earliestMicros: BigInt(String(row.earliest)),
  }));
  return { hits, table };
}

/** The source columns the join reads of `source`: keys, times, features, `fstore_seq`, `dt`. */
function joinColumns(plan: PointInTimePlan, source: string): string[] {
  const views = plan.views.filter((v) => v.source === source);
  return [
    ...new Set([
      ...views.flatMap((v) => [
        ...v.joinKeys.map((k) => k.name),
        v.timestampColumn,
        ...(v.createdColumn ? [v.createdColumn] : []),
        ...featureSourceColumns(v),
      ]),
      'fstore_seq',
      'dt',
    ]),
  ];
}

/**
 * The latest day at or above `from` with a row of the window's keys that is a candidate: any
 * row of a day before the window's last, one at or before its earliest entity time on that day.
 */
function latestHitDay(
  window: KeyedWindow,
  shared: readonly string[],
  hits: readonly Hit[],
  from: number,
): number | undefined {
  const wanted = shared.map((name) => window.values.get(name));
  let latest: number | undefined;
  for (const hit of hits) {
    if (hit.day < from || hit.day > window.to) continue;
    if (hit.day === window.to && hit.earliestMicros > window.earliestMicros) continue;
    if (!hit.keys.every((value, i) => value === wanted[i])) continue;
    if (latest === undefined || hit.day > latest) latest = hit.day;
  }
  return latest;
}
