import path from 'node:path';
import { DamagedCommitRecordError } from '../offline/damaged-commit-record.ts';
import { type IngestRecord, tiledRowsByViewMarker } from '../offline/ingest-manifest.ts';
import { subtractSeqRanges } from '../seq-ranges.ts';

/**
 * Which rows of an ingest pushes applied to the tiles of which aggregation view versions (ADR
 * 0020, "Pushed rows in the base"). Push-log compaction (local) and staged-push compaction (AWS)
 * write, in the commit record of every ingest of pushed rows, the row offsets from `firstSeq`,
 * as `[start, end)` pairs, whose push wrote them to tiles: `pushTiledRowsByView`, by the tile
 * item prefix (`<view>#<version>`) of each view version the push applied them to, and
 * `pushTiledRows`, rows applied to the tiles of every view version (what every tiled row meant
 * before the mark named view versions: a log or staged row written then carries no names). A
 * view version's base leaves out exactly the rows tiled for it (they are in its tiles by their
 * row ids) and counts every other row: batch ingests, rows pushed `"to": "offline"`, rows
 * pushed while the source had no tile-fed view, and rows pushed to other view versions' tiles
 * only (a view that gained `onlineTiles` later, a new version of a view). A local push-log
 * ingest committed before either field existed (its file under `_push/<source>/`) was left out
 * whole, for every view, as every pushed row was then: it still is. Rows of logs named without
 * a push id never are (untiledLogRows), whatever an earlier release marked.
 */
export function tiledSeqRanges(
  record: IngestRecord,
  source: string,
  tilePrefix: string,
): [bigint, bigint][] {
  if (record.rows <= 0) return [];
  const first = BigInt(record.firstSeq);
  const seqs = (offsets: readonly (readonly [number, number])[]): [bigint, bigint][] =>
    offsets.map(([start, end]) => [first + BigInt(start), first + BigInt(end) - 1n]);
  const byView = record.pushTiledRowsByView;
  let tiled: [bigint, bigint][];
  if (record.pushTiledRows === undefined && byView === undefined) {
    const legacy = record.file.includes(`${path.sep}_push${path.sep}${source}${path.sep}`);
    tiled = legacy ? seqs([[0, record.rows]]) : [];
  } else {
    checkTiledRows(record);
    const own = byView?.[tilePrefix] ?? [];
    tiled = seqs([...tiledForEvery(record), ...own].sort((a, b) => a[0] - b[0]));
  }
  const untiled = untiledLogRows(record, source);
  return untiled.length === 0 ? tiled : subtractSeqRanges(tiled, seqs(untiled));
}

/** A log name (or key) with a push id, `<stamp>-<32 hex>`: the only logs a push ever tiled. */
const pushIdNamed =
  /^\d{8}T\d{6}\.\d{6}-[0-9a-f]{32}(?:\.untiled|\.tiles-[0-9a-f]{16})?(?:\.jsonl)?$/;

/**
 * Offsets of the rows of a local push-log ingest that came from logs named without a push id
 * (`<stamp>-<12 hex>`, by releases older than tiles, or a `.jsonl` put in the folder by hand):
 * no push tiled them, but a release before push-log-tiles.ts said so marked them tiled for
 * every view version. Such a log ingested alone is the record's file; in a batch, its segment
 * starts at its `pushLogs` entry (that release recorded every log's key) and ends at the next.
 */
function untiledLogRows(record: IngestRecord, source: string): [number, number][] {
  if (
    path.dirname(record.file).endsWith(`${path.sep}_push${path.sep}${source}`) &&
    record.file.endsWith('.jsonl') &&
    !pushIdNamed.test(path.basename(record.file))
  )
    return [[0, record.rows]];
  const logs: unknown = record.pushLogs;
  if (!Array.isArray(logs)) return [];
  // Starts as a record holds them (pushLogOrder refuses other shapes locally): increasing offsets.
  const starts = logs.map((log: unknown) =>
    Array.isArray(log) && Number.isSafeInteger(log[0]) ? (log[0] as number) : Number.NaN,
  );
  if (!starts.every((start, i) => start >= (starts[i - 1] ?? -1) + 1 && start < record.rows))
    return [];
  const untiled: [number, number][] = [];
  logs.forEach((log: unknown[], i) => {
    const key = log[1];
    if (typeof key === 'string' && !pushIdNamed.test(key))
      untiled.push([starts[i] as number, starts[i + 1] ?? record.rows]);
  });
  return untiled;
}

/** Offsets as a commit record holds them: increasing, apart, non-empty, within the ingest. */
export function checkTiledRows(record: IngestRecord): void {
  const refuse = (field: string, value: unknown, what: string): never => {
    throw new DamagedCommitRecordError(
      `the commit record of ingest ${record.ingestId} (source ${record.source}) holds ${field} ${JSON.stringify(value)}, which ${what}; no tile base is written from it`,
    );
  };
  const rangesFit = (ranges: unknown) => {
    let previousEnd = 0;
    return (
      Array.isArray(ranges) &&
      ranges.every((range: unknown) => {
        if (!Array.isArray(range) || range.length !== 2) return false;
        const [start, end] = range as unknown[];
        if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) return false;
        const ok =
          (start as number) >= previousEnd &&
          (start as number) < (end as number) &&
          (end as number) <= record.rows;
        previousEnd = end as number;
        return ok;
      })
    );
  };
  const rangeRule = `are not increasing [start, end) row offsets within its ${record.rows} rows`;
  const every: unknown = record.pushTiledRows;
  const byView: unknown = record.pushTiledRowsByView;
  if (every === tiledRowsByViewMarker) {
    const kept: unknown = record.pushTiledRowsEvery;
    if (!rangesFit(kept)) refuse('pushTiledRowsEvery', kept, rangeRule);
    if (byView === undefined)
      refuse('pushTiledRows', every, 'names pushTiledRowsByView, which the record lacks');
  } else if (every !== undefined && !rangesFit(every)) refuse('pushTiledRows', every, rangeRule);
  if (byView === undefined) return;
  if (typeof byView !== 'object' || byView === null || Array.isArray(byView))
    refuse('pushTiledRowsByView', byView, 'is not an object of tile prefixes');
  for (const [prefix, ranges] of Object.entries(byView as object)) {
    if (!tilePrefixPattern.test(prefix))
      refuse(
        'pushTiledRowsByView',
        prefix,
        "is not a view version's tile prefix (<view>#<version>)",
      );
    if (!rangesFit(ranges)) refuse(`pushTiledRowsByView["${prefix}"]`, ranges, rangeRule);
  }
}

/** Offsets of the rows tiled for every view version, in either form a record holds them. */
function tiledForEvery(record: IngestRecord): readonly (readonly [number, number])[] {
  const every = record.pushTiledRows;
  return every === tiledRowsByViewMarker ? (record.pushTiledRowsEvery ?? []) : (every ?? []);
}

/**
 * The tiled-rows fields of a commit record (ADR 0020, "Rollback and mixed versions"): with
 * rows tiled by view version, `pushTiledRows` is the marker older releases refuse, and the rows
 * tiled for every view version are in `pushTiledRowsEvery`; otherwise `pushTiledRows` alone,
 * which every release reads alike.
 */
export function tiledRowsRecordFields(
  every: readonly (readonly [number, number])[],
  byView: Readonly<Record<string, readonly (readonly [number, number])[]>> | undefined,
): Pick<IngestRecord, 'pushTiledRows' | 'pushTiledRowsEvery' | 'pushTiledRowsByView'> {
  if (byView === undefined) return { pushTiledRows: every };
  return {
    pushTiledRows: tiledRowsByViewMarker,
    pushTiledRowsEvery: every,
    pushTiledRowsByView: byView,
  };
}

/** A feature view version's online key prefix (lib/registry/compile.ts): `<view>#<version>`. */
const tilePrefixPattern = /^[a-z][a-z0-9_]*#[0-9a-f]+$/;

/**
 * `[start, end)` offsets of the tiled rows of an ingest made of consecutive segments (push logs
 * in batch order, each tiled or not), adjacent runs joined.
 */
export function tiledRowRuns(
  segments: Iterable<{ readonly rows: number; readonly tiled: boolean }>,
): [number, number][] {
  const runs: [number, number][] = [];
  let offset = 0;
  for (const { rows, tiled } of segments) {
    const last = runs[runs.length - 1];
    if (tiled && rows > 0 && last && last[1] === offset) last[1] = offset + rows;
    else if (tiled && rows > 0) runs.push([offset, offset + rows]);
    offset += rows;
  }
  return runs;
}

/** Tiled row offsets of one ingest, as its commit record keeps them. */
export interface TiledRowRuns {
  readonly every: readonly (readonly [number, number])[];
  readonly byView: Readonly<Record<string, readonly (readonly [number, number])[]>>;
}

/** What a log or staged row says about the tiles its push applied it to. */
export type RowTiles = readonly string[] | 'every';

/**
 * The commit record's fields for an ingest made of consecutive segments (push logs in batch
 * order): `every` the runs of rows tiled for every view version (logs written before the mark
 * named view versions), `byView` each tile prefix's runs, adjacent runs joined.
 */
export function tiledRowRunsByView(
  segments: Iterable<{ readonly rows: number; readonly tiles: RowTiles }>,
): TiledRowRuns {
  const list = [...segments];
  const prefixes = new Set(list.flatMap((s) => (s.tiles === 'every' ? [] : s.tiles)));
  const every = tiledRowRuns(list.map((s) => ({ rows: s.rows, tiled: s.tiles === 'every' })));
  const byView: Record<string, [number, number][]> = {};
  for (const prefix of [...prefixes].sort())
    byView[prefix] = tiledRowRuns(
      list.map((s) => ({ rows: s.rows, tiled: s.tiles !== 'every' && s.tiles.includes(prefix) })),
    );
  return { every, byView };
}
