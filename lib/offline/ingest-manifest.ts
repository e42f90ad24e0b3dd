import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { HintedError } from '../hinted-error.ts';

/** What an ingest records about itself, for duplicate detection, `fstore_seq` and its files. */
export interface IngestRecord {
  readonly ingestId: string;
  readonly source: string;
  readonly file: string;
  readonly sha256: string;
  readonly rows: number;
  readonly firstSeq: number;
  readonly at: string;
  /**
   * The data files of the ingest: paths relative to the offline root (local), object keys (S3).
   * Records written before the commit rule have none; their files are the ones whose names
   * start with `<ingestId>-` (see committedSourceFiles).
   */
  readonly files?: readonly string[];
  /**
   * Key sets (a view's join key columns, sorted, with the source's event-time column) in which
   * no two rows share key values and event time: neither two rows of this ingest nor one of its
   * rows and a row committed before it (checked under the ingest lock). When every record of a
   * source carries a set, the source has no ties in it, and a point-in-time join of a view with
   * those keys needs no tie-break (lib/offline/unique-key-times.ts). Absent: not known.
   */
  readonly uniqueKeyTimes?: readonly KeyTimeSet[];
  /**
   * On ingests of pushed rows only: the `[start, end)` row offsets from `firstSeq` whose push
   * applied them to the tiles of every aggregation view version (lib/push/tiled-push-rows.ts,
   * ADR 0020): rows logged or staged before the mark named view versions. In a record that
   * carries `pushTiledRowsByView`, the marker `tiledRowsByViewMarker` instead, and these
   * offsets in `pushTiledRowsEvery` (records written from 751a00c until the marker held both
   * fields as offsets, and are still read so).
   */
  readonly pushTiledRows?: readonly (readonly [number, number])[] | typeof tiledRowsByViewMarker;
  /** `pushTiledRows`'s offsets in a record whose `pushTiledRows` is `tiledRowsByViewMarker`. */
  readonly pushTiledRowsEvery?: readonly (readonly [number, number])[];
  /**
   * On ingests of pushed rows only: by tile item prefix (`<view>#<version>`), the offsets of
   * the rows whose push applied them to that view version's tiles (lib/push/tiled-push-rows.ts).
   */
  readonly pushTiledRowsByView?: Readonly<Record<string, readonly (readonly [number, number])[]>>;
  /**
   * On local ingests of push logs: `[offset, key]` per log, in order, the offset of its first
   * row from `firstSeq` and its key (`<stamp>-<push id>`), so a tile base knows which logs were
   * ingested before each of its rows (lib/push/push-log-order.ts, ADR 0020 "Ties for `last`").
   */
  readonly pushLogs?: readonly (readonly [number, string])[];
}

/**
 * `pushTiledRows` of a record whose rows are tiled by view version (ADR 0020, "Rollback and
 * mixed versions"). Releases before the per-view-version mark (751a00c) read `pushTiledRows`
 * as every tiled row and ignore `pushTiledRowsByView`: offsets there would make them count the
 * rows tiled for a view version in its base as well as in its tiles. This text is no list of
 * offsets, so they refuse the record, naming it, and write no tile base.
 */
export const tiledRowsByViewMarker =
  'by view version, in pushTiledRowsEvery and pushTiledRowsByView: this fstore predates them; upgrade it to build tile bases';

/** Join key columns (sorted) and the event-time column whose value combinations are checked. */
export interface KeyTimeSet {
  readonly keys: readonly string[];
  readonly time: string;
}

/**
 * `offline/_ingests.jsonl`: one JSON line per committed ingest. It is the commit point of the
 * local offline store: an ingest is committed when its line is in this file, and readers read
 * only the data files of committed ingests. The file is replaced whole (temporary file,
 * fsync, rename), never appended to, so a crash leaves the old or the new manifest.
 */
export function manifestPath(offlineRoot: string): string {
  return path.join(offlineRoot, '_ingests.jsonl');
}

/** `<ingestId>-<n>.parquet`, the names DuckDB gives an ingest's data files. */
const dataFileName = /^(\d{8}t\d{6}-[0-9a-f]{8})-\d+\.parquet$/;

/**
 * A new id for the data files of an ingest or a compaction: `YYYYMMDDtHHMMSS-<8 hex>` (UTC),
 * the form every reader (local, and Athena's path pattern) recognizes in `<id>-<n>.parquet`.
 */
export function newDataFilesId(now = new Date()): string {
  return `${now.toISOString().replace(/[-:.]/g, '').replace('T', 't').slice(0, 15)}-${randomUUID().slice(0, 8)}`;
}

/** The ingest id in a data file's name, if it is named like one. */
export function ingestIdOfFile(name: string): string | undefined {
  return dataFileName.exec(name)?.[1];
}

/**
 * Files a compaction replaced, kept on disk until `keepUntil` for readers that listed them
 * before its commit (a training set renders its file list, then reads). One manifest line per
 * compaction, told apart from ingest records by `kind`; an fstore older than this line skips it
 * (no `ingestId`), as it skips a torn line.
 */
export interface ReplacedFiles {
  readonly kind: 'replaced-files';
  /** The compaction whose commit replaced them. */
  readonly replacedBy: string;
  readonly at: string;
  readonly keepUntil: string;
  /** Paths relative to the offline root. */
  readonly files: readonly string[];
}

/** Everything the manifest says: the committed ingests, and replaced files still kept. */
export interface ManifestState {
  readonly records: IngestRecord[];
  readonly replaced: ReplacedFiles[];
}

/**
 * Records of the manifest text. A line that does not parse (a torn last line appended by an
 * fstore older than the commit rule) is not a committed ingest and is skipped.
 */
export function parseManifest(text: string): IngestRecord[] {
  return parseManifestState(text).records;
}

export function parseManifestState(text: string): ManifestState {
  const records: IngestRecord[] = [];
  const replaced: ReplacedFiles[] = [];
  for (const line of text.split('\n')) {
    if (line.trim().length === 0) continue;
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue; // torn line: never committed
    }
    if (parsed.kind === 'replaced-files') {
      if (
        typeof parsed.replacedBy === 'string' &&
        typeof parsed.keepUntil === 'string' &&
        Array.isArray(parsed.files)
      )
        replaced.push(parsed as unknown as ReplacedFiles);
    } else if (typeof parsed.ingestId === 'string' && typeof parsed.source === 'string')
      records.push(parsed as unknown as IngestRecord);
  }
  return { records, replaced };
}

/** Committed ingests, or undefined when the store has no manifest (nothing ever ingested). */
export async function readManifest(offlineRoot: string): Promise<IngestRecord[] | undefined> {
  return (await readManifestState(offlineRoot))?.records;
}

export async function readManifestState(offlineRoot: string): Promise<ManifestState | undefined> {
  const text = await readFile(manifestPath(offlineRoot), 'utf8').catch(notFoundAsUndefined);
  return text === undefined ? undefined : parseManifestState(text);
}

export function readManifestSync(offlineRoot: string): IngestRecord[] | undefined {
  return readManifestStateSync(offlineRoot)?.records;
}

export function readManifestStateSync(offlineRoot: string): ManifestState | undefined {
  let text: string;
  try {
    text = readFileSync(manifestPath(offlineRoot), 'utf8');
  } catch (error) {
    return notFoundAsUndefined(error);
  }
  return parseManifestState(text);
}

/**
 * A manifest of `records` alone (no replaced files kept), for a new store; a store that may
 * hold replaced files is rewritten with replaceManifest, which carries them.
 */
export async function writeManifest(
  offlineRoot: string,
  records: readonly IngestRecord[],
  tag: string,
  beforeRename?: () => void,
): Promise<void> {
  await replaceManifest(offlineRoot, { records: [...records], replaced: [] }, tag, beforeRename);
}

/**
 * Replaces the manifest with `state` in one atomic step: writes `_ingests.jsonl.<tag>.tmp`,
 * flushes it to disk, renames it over the manifest and flushes the folder. `beforeRename` runs
 * between the two (a fault point for tests). Callers hold the ingest lock, so no two
 * replacements race.
 */
export async function replaceManifest(
  offlineRoot: string,
  state: ManifestState,
  tag: string,
  beforeRename?: () => void,
): Promise<void> {
  const target = manifestPath(offlineRoot);
  const temporary = `${target}.${tag}.tmp`;
  try {
    const handle = await open(temporary, 'w');
    try {
      await handle.writeFile(
        [...state.records, ...state.replaced].map((r) => `${JSON.stringify(r)}\n`).join(''),
      );
      await handle.sync();
    } finally {
      await handle.close();
    }
    beforeRename?.();
    await rename(temporary, target);
  } finally {
    await rm(temporary, { force: true });
  }
  await syncFolder(offlineRoot);
}

/** Flushes a folder's entries (renames into it) to disk; a no-op where folders cannot be opened. */
export async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, 'r').catch(() => undefined);
  if (!handle) return;
  try {
    await handle.sync().catch(() => undefined);
  } finally {
    await handle.close();
  }
}

/** Flushes a file's bytes to disk before it is renamed into the store. */
export async function syncFile(file: string): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Whether a temporary manifest left by a crash is named so (`_ingests.jsonl.<tag>.tmp`). */
export function isManifestTemporary(name: string): boolean {
  return name.startsWith('_ingests.jsonl.') && name.endsWith('.tmp');
}

/**
 * Absolute paths of the data files of `source`'s committed ingests, sorted. Undefined for a
 * store without a manifest (files placed there by hand, e.g. the benchmarks): every
 * `<source>/*\/*.parquet` file is read then, as before the commit rule. An ingest writes the
 * manifest before its first data file, so a store written by `fstore ingest` always has one.
 */
export function committedSourceFiles(offlineRoot: string, source: string): string[] | undefined {
  const records = readManifestSync(offlineRoot);
  if (!records) return undefined;
  return committedFilesOf(offlineRoot, source, records);
}

/**
 * A committed data file that is no longer there (deleted or moved by hand). Reading the source
 * without it would silently drop that ingest's rows, or, when every file is gone, make DuckDB
 * say "No files found", which readers take for a source without rows.
 */
export class MissingCommittedFilesError extends HintedError {
  constructor(
    readonly source: string,
    readonly missing: readonly string[],
    ingests: readonly IngestRecord[],
    manifest: string,
  ) {
    const listed = missing.slice(0, 5).join(', ') + (missing.length > 5 ? ', ...' : '');
    const named = ingests.map((r) => `${r.ingestId} (${r.file})`).join(', ');
    super(
      `${missing.length === 1 ? '1 committed data file' : `${missing.length} committed data files`} of source "${source}" ${missing.length === 1 ? 'is' : 'are'} missing: ${listed}${named ? `; ${ingests.length === 1 ? 'ingest' : 'ingests'} ${named}` : ''}`,
      `restore the missing file(s) from a backup. To give up ${ingests.length === 1 ? 'that ingest' : 'those ingests'} instead, remove ${ingests.length === 1 ? 'its line' : 'their lines'} from ${manifest} (the manifest, not the folder, says what is stored) and run fstore ingest again on the file`,
    );
  }
}

/**
 * `committedSourceFiles`, refusing a committed file that does not exist (one `existsSync` per
 * file) with a MissingCommittedFilesError naming the files, their ingests and the fix.
 */
export function presentCommittedSourceFiles(
  offlineRoot: string,
  source: string,
): string[] | undefined {
  return presentCommittedSource(offlineRoot, source)?.files;
}

/**
 * `presentCommittedSourceFiles` with the manifest records it read them from, so a caller that
 * needs more of the manifest (the newest ingest, say) takes it from the same snapshot.
 */
export function presentCommittedSource(
  offlineRoot: string,
  source: string,
): { files: string[]; records: readonly IngestRecord[] } | undefined {
  let records = readManifestSync(offlineRoot);
  if (!records) return undefined;
  let files = committedFilesOf(offlineRoot, source, records);
  let missing = files.filter((file) => !existsSync(file));
  if (missing.length > 0) {
    // A compaction may have committed and removed its replaced files since the read above.
    records = readManifestSync(offlineRoot) ?? [];
    files = committedFilesOf(offlineRoot, source, records);
    missing = files.filter((file) => !existsSync(file));
  }
  if (missing.length === 0) return { files, records };
  const relative = new Set(missing.map((f) => path.relative(offlineRoot, f)));
  const ingests = records.filter(
    (r) => r.source === source && r.files?.some((f) => relative.has(path.normalize(f))),
  );
  throw new MissingCommittedFilesError(source, missing, ingests, manifestPath(offlineRoot));
}

export function committedFilesOf(
  offlineRoot: string,
  source: string,
  records: readonly IngestRecord[],
): string[] {
  const files: string[] = [];
  const legacy = new Set<string>();
  for (const record of records) {
    if (record.source !== source) continue;
    if (record.files) files.push(...record.files.map((f) => path.join(offlineRoot, f)));
    else legacy.add(record.ingestId);
  }
  if (legacy.size > 0) {
    // Records written before the commit rule name no files: their files carry the ingest id.
    for (const { folder, name } of sourceDataFiles(offlineRoot, source)) {
      const id = ingestIdOfFile(name);
      if (id && legacy.has(id)) files.push(path.join(folder, name));
    }
  }
  return [...new Set(files)].sort();
}

/** Every `*.parquet` file in `<source>/<partition>/`, committed or not. */
export function sourceDataFiles(
  offlineRoot: string,
  source: string,
): { folder: string; name: string }[] {
  const sourceDir = path.join(offlineRoot, source);
  const found: { folder: string; name: string }[] = [];
  for (const partition of listSync(sourceDir)) {
    if (!partition.isDirectory()) continue;
    const folder = path.join(sourceDir, partition.name);
    for (const entry of listSync(folder))
      if (entry.isFile() && entry.name.endsWith('.parquet'))
        found.push({ folder, name: entry.name });
  }
  return found;
}

function listSync(folder: string) {
  try {
    return readdirSync(folder, { withFileTypes: true });
  } catch (error) {
    return notFoundAsUndefined(error) ?? [];
  }
}

function notFoundAsUndefined(error: unknown): undefined {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
  throw error;
}
