import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { faultPoint } from '../fault-injection.ts';
import type { Registry } from '../registry/index.ts';
import { contentHash } from '../registry/stable-json.ts';
import { quoteIdentifier, quoteLiteral } from '../sql/dialect.ts';
import { duckdbParquetFiles } from '../sql/duckdb-dialect.ts';
import { partitionOfPath } from './dt-partition.ts';
import { queryRows } from './duckdb-session.ts';
import { syncFile } from './ingest-manifest.ts';
import { interruptOnAbort } from './interrupt-on-abort.ts';
import { fileLines, storedFileLines } from './stored-file-lines.ts';

/**
 * A source's sorted copy (ADR 0023): every row of its committed files in one Parquet file,
 * ordered by the join keys its views share, then event time, created time and `fstore_seq`.
 * DuckDB's ASOF join sorts both sides by (key, time); rows that arrive in that order sort at a
 * fraction of the cost. The copy is a cache: it records the committed files it holds (path,
 * size, mtime), and a read uses it only while every one of them is still committed, adding the
 * files committed since (the tail). The dt-partitioned files stay the store.
 */
export interface SortedCopy {
  readonly file: string;
  /** The committed files not in the copy, read beside it. */
  readonly tail: readonly string[];
  /** The committed files the copy holds. */
  readonly files: readonly string[];
  /**
   * Set for a read as of a pin (sorted-copy-scope.ts) when every row of the copy and of its tail
   * is within the pin: the read needs no `fstore_seq` filter.
   */
  readonly withinPin?: boolean;
  /**
   * A file left out of the tail by a pin whose columns the relation must still have (the newest
   * ingest's, as pinned-file-reads.ts keeps for files): read for its columns alone.
   */
  readonly columnsOf?: string;
  /** The join key columns the rows are ordered by, sorted by name. */
  readonly keys: readonly string[];
  /**
   * The copy's key dictionary: its distinct non-NULL key tuples, numbered 1..size in key order;
   * each copy row carries its tuple's number as `fstore_key_id`. Undefined when the file is gone.
   */
  readonly keyIds?: { readonly file: string; readonly size: number };
  /** The first and last `dt` partition of the rows it and its tail hold. */
  readonly days?: { readonly first: string; readonly last: string };
}

/** How the rows of a copy are ordered; undefined for a source no plain feature view reads. */
export interface SortedCopyOrder {
  readonly keys: readonly string[];
  readonly timestamp: string;
  readonly created?: string;
}

const metadataKey = 'fstore_sorted_copy';
const formatVersion = 2;
/** A copy's key dictionary is `<copy name>.keys.parquet`, beside it. */
const keysSuffix = '.keys.parquet';
const keysFileOf = (copyFile: string) => copyFile.replace(/\.parquet$/, keysSuffix);
/** The copy is written again once the files committed after it hold more than this share of its bytes. */
export const SORTED_COPY_MAX_TAIL_SHARE = 1 / 8;

/** `<offlineRoot>/_sorted_copies/<source>/`. */
export function sortedCopiesDir(offlineRoot: string, source: string): string {
  return path.join(offlineRoot, '_sorted_copies', source);
}

/**
 * The order of `source`'s copy: the join keys most of its plain (non-aggregation) views share
 * (names sorted, as asof-key-ids numbers them), then the source's time columns.
 */
export function sortedCopyOrder(registry: Registry, source: string): SortedCopyOrder | undefined {
  const stored = registry.sources.find((s) => s.name === source);
  if (!stored) return undefined;
  const counts = new Map<string, number>();
  for (const view of registry.featureViews) {
    if (view.source !== source || view.aggregations || view.joinKeys.length === 0) continue;
    const keys = JSON.stringify(view.joinKeys.map((k) => k.name).sort());
    counts.set(keys, (counts.get(keys) ?? 0) + 1);
  }
  const [chosen] = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  if (!chosen) return undefined;
  return {
    keys: JSON.parse(chosen[0]) as string[],
    timestamp: stored.timestampField,
    ...(stored.createdTimestampField ? { created: stored.createdTimestampField } : {}),
  };
}

interface CopyState {
  readonly file: string;
  readonly covered: readonly string[];
  readonly keys: readonly string[];
  /** Key tuples in the copy's dictionary. */
  readonly keyCount: number;
  readonly bytes: number;
}

const isCopyName = (name: string) => name.endsWith('.parquet') && !name.endsWith(keysSuffix);

/** The copies in `dir` that record their state, newest first; damaged ones are skipped. */
async function copiesIn(connection: DuckDBConnection, dir: string): Promise<CopyState[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const found: (CopyState & { mtimeMs: number })[] = [];
  for (const name of names.filter(isCopyName)) {
    const file = path.join(dir, name);
    const state = await readCopyState(connection, file).catch(() => undefined);
    const info = await stat(file).catch(() => undefined);
    if (state && info) found.push({ ...state, bytes: info.size, mtimeMs: info.mtimeMs });
  }
  return found.sort((a, b) => b.mtimeMs - a.mtimeMs);
}

async function readCopyState(
  connection: DuckDBConnection,
  file: string,
): Promise<Omit<CopyState, 'bytes'> | undefined> {
  const rows = await queryRows(
    connection,
    `SELECT decode(value) AS value FROM parquet_kv_metadata(${quoteLiteral(file)}) WHERE decode(key) = ${quoteLiteral(metadataKey)}`,
  );
  const text = rows[0]?.value;
  if (typeof text !== 'string') return undefined;
  const state = JSON.parse(text) as {
    version?: number;
    covered?: unknown;
    keys?: unknown;
    keyCount?: unknown;
  };
  if (
    state.version !== formatVersion ||
    !Array.isArray(state.covered) ||
    !Array.isArray(state.keys) ||
    !Number.isSafeInteger(state.keyCount)
  )
    return undefined;
  return {
    file,
    covered: state.covered as string[],
    keys: state.keys as string[],
    keyCount: state.keyCount as number,
  };
}

/** The copy holding the most of `lines` (committed files) that holds nothing else, and its tail. */
function usableCopy(
  copies: readonly CopyState[],
  lines: ReadonlyMap<string, string>,
): { copy: CopyState; tail: string[] } | undefined {
  return usableCopies(copies, lines)[0];
}

/** The copies holding only `lines` (committed files), the one holding the most first, with their tails. */
function usableCopies(
  copies: readonly CopyState[],
  lines: ReadonlyMap<string, string>,
): { copy: CopyState; tail: string[] }[] {
  return copies
    .filter((c) => c.covered.every((line) => lines.has(line)))
    .sort((a, b) => b.covered.length - a.covered.length)
    .map((copy) => {
      const covered = new Set(copy.covered);
      const tail = [...lines].filter(([line]) => !covered.has(line)).map(([, file]) => file);
      return { copy, tail };
    });
}

const lineBytes = (line: string) => Number(line.split('\t')[1] ?? 0);

/**
 * The usable copy of `source`, if there is one: of `committed` (the files a request's one read of
 * the manifest listed, so its tail is of that read too), or of the files committed now. The copy
 * holding the most files, unless `prefer` holds for one holding fewer (a read as of a pin
 * prefers a copy it can read whole, sorted-copy-scope.ts).
 */
export async function findSortedCopy(
  connection: DuckDBConnection,
  offlineRoot: string,
  source: string,
  committed?: readonly string[],
  prefer?: (copy: SortedCopy) => boolean,
): Promise<SortedCopy | undefined> {
  const dir = sortedCopiesDir(offlineRoot, source);
  if (!existsSync(dir)) return undefined;
  const lines = committed
    ? await fileLines(offlineRoot, source, committed).catch(() => undefined)
    : await storedFileLines(offlineRoot, source);
  if (!lines) return undefined;
  const usable = usableCopies(await copiesIn(connection, dir), lines);
  const days = [...lines.values()].map(partitionOfPath).sort();
  const [first, last] = [days[0], days.at(-1)];
  const held = first && last && days.every((d) => d !== undefined) ? { first, last } : undefined;
  const found: SortedCopy[] = [];
  for (const { copy, tail } of usable) {
    const candidate: SortedCopy = {
      file: copy.file,
      tail,
      files: copy.covered.flatMap((line) => lines.get(line) ?? []),
      keys: copy.keys,
      ...(held ? { days: held } : {}),
      ...((await hasWholeDictionary(connection, copy))
        ? { keyIds: { file: keysFileOf(copy.file), size: copy.keyCount } }
        : {}),
    };
    if (!prefer || prefer(candidate)) return candidate;
    found.push(candidate);
  }
  return found[0];
}

/**
 * Whether `copy`'s key dictionary is there with as many keys as the copy records. A damaged one
 * (cut short, or not Parquet) would fail every read, and one short of keys would leave their
 * entity rows unmatched; either is treated as gone: the copy is read on its keys, and the next
 * refresh writes both again.
 */
async function hasWholeDictionary(
  connection: DuckDBConnection,
  copy: Pick<CopyState, 'file' | 'keyCount'>,
): Promise<boolean> {
  const keysFile = keysFileOf(copy.file);
  if (!existsSync(keysFile)) return false;
  const rows = await queryRows(
    connection,
    `SELECT num_rows FROM parquet_file_metadata(${quoteLiteral(keysFile)})`,
  ).catch(() => undefined);
  return rows?.length === 1 && Number(rows[0]?.num_rows) === copy.keyCount;
}

/**
 * The rows of a copy and of the files committed after it, as one relation; with a dictionary,
 * the tail's rows carry `fstore_key_id` too, numbered by sortedCopyKeyIds.
 */
export function sortedCopyRelation(copy: SortedCopy): string {
  const rows = `read_parquet(${quoteLiteral(copy.file)}, hive_partitioning = false)`;
  const shape = copy.columnsOf
    ? [`SELECT * FROM ${duckdbParquetFiles([copy.columnsOf])} WHERE FALSE`]
    : [];
  if (copy.tail.length === 0 && shape.length === 0) return rows;
  const tail = duckdbParquetFiles(copy.tail);
  const on = copy.keys
    .map((k) => `t.${quoteIdentifier(k)} = m.${quoteIdentifier(k)}`)
    .join(' AND ');
  const tailRows =
    copy.tail.length === 0
      ? []
      : copy.keyIds
        ? [
            `SELECT t.*, m.fstore_key_id FROM ${tail} t LEFT JOIN (${sortedCopyKeyIds(copy)}) m ON ${on}`,
          ]
        : [`SELECT * FROM ${tail}`];
  return `(${[`SELECT * FROM ${rows}`, ...tailRows, ...shape].join(' UNION ALL BY NAME ')})`;
}

/**
 * The numbering of `copy`'s key tuples (its key columns and `fstore_key_id`), or undefined for a
 * copy without a dictionary: the dictionary's, then the tuples only the tail holds, numbered on
 * after it in key order. Equal numbers are equal tuples, so an ASOF join on the number (with the
 * entity rows numbered by this query too) picks the winner the keys would; the copy's rows
 * arrive in (number, time) order and carry the number, with no join on the keys.
 */
export function sortedCopyKeyIds(copy: SortedCopy): string | undefined {
  if (!copy.keyIds) return undefined;
  const q = quoteIdentifier;
  const columns = copy.keys.map(q).join(', ');
  const dictionary = `SELECT ${columns}, fstore_key_id FROM read_parquet(${quoteLiteral(copy.keyIds.file)})`;
  if (copy.tail.length === 0) return dictionary;
  const present = copy.keys.map((k) => `${q(k)} IS NOT NULL`).join(' AND ');
  const same = copy.keys.map((k) => `d.${q(k)} = n.${q(k)}`).join(' AND ');
  return [
    dictionary,
    `UNION ALL SELECT ${columns}, CAST(${copy.keyIds.size} + row_number() OVER (ORDER BY ${columns}) AS UINTEGER) AS fstore_key_id`,
    `FROM (SELECT DISTINCT ${columns} FROM ${duckdbParquetFiles(copy.tail)} WHERE ${present}) n`,
    `WHERE NOT EXISTS (SELECT 1 FROM read_parquet(${quoteLiteral(copy.keyIds.file)}) d WHERE ${same})`,
  ].join('\n');
}

export interface SortedCopyRefresh {
  /** Whether a copy was written; false when the one there is recent enough. */
  readonly written: boolean;
  readonly file?: string;
}

/**
 * Writes `source`'s copy again when there is none, its order changed, or the files committed
 * since hold more than SORTED_COPY_MAX_TAIL_SHARE of its bytes. Takes no lock (as running
 * totals): the copy is written beside, fsynced and renamed in; if an erasure or compaction
 * committed meanwhile (a file it read is no longer committed), the new copy is removed again,
 * so no copy outlives an erasure that ran while it was written.
 */
export async function refreshSortedCopy(
  connection: DuckDBConnection,
  offlineRoot: string,
  registry: Registry,
  source: string,
  options: { readonly onWrite?: () => void; readonly signal?: AbortSignal } = {},
): Promise<SortedCopyRefresh> {
  const order = sortedCopyOrder(registry, source);
  const dir = sortedCopiesDir(offlineRoot, source);
  if (!order) {
    await rm(dir, { recursive: true, force: true });
    return { written: false };
  }
  const lines = await storedFileLines(offlineRoot, source);
  if (!lines) return { written: false };
  const copies = await copiesIn(connection, dir);
  const ordered = copies.filter((c) => JSON.stringify(c.keys) === JSON.stringify(order.keys));
  const keyed: CopyState[] = [];
  for (const copy of ordered) if (await hasWholeDictionary(connection, copy)) keyed.push(copy);
  const usable = usableCopy(keyed, lines);
  if (usable) {
    const covered = new Set(usable.copy.covered);
    const tailBytes = [...lines.keys()]
      .filter((line) => !covered.has(line))
      .reduce((sum, line) => sum + lineBytes(line), 0);
    if (tailBytes <= usable.copy.bytes * SORTED_COPY_MAX_TAIL_SHARE) {
      await removeOrphanDictionaries(dir);
      return { written: false };
    }
  }
  options.onWrite?.();
  options.signal?.throwIfAborted();
  const covered = [...lines.keys()].sort();
  // The keys are in the name: a copy of the same files in another order has another dictionary.
  const file = path.join(dir, `${contentHash({ covered, keys: order.keys }, 16)}.parquet`);
  const keysFile = keysFileOf(file);
  const temporary = `${process.pid}-${randomUUID()}.partial`;
  const partial = `${file}.${temporary}`;
  const keysPartial = `${keysFile}.${temporary}`;
  await mkdir(dir, { recursive: true });
  const stopInterrupting = interruptOnAbort(connection, options.signal);
  try {
    const q = quoteIdentifier;
    const files = duckdbParquetFiles([...lines.values()]);
    const columns = order.keys.map(q).join(', ');
    const present = order.keys.map((k) => `${q(k)} IS NOT NULL`).join(' AND ');
    await connection.run(
      `COPY (SELECT ${columns}, CAST(row_number() OVER (ORDER BY ${columns}) AS UINTEGER) AS fstore_key_id FROM (SELECT DISTINCT ${columns} FROM ${files} WHERE ${present})) TO ${quoteLiteral(keysPartial)} (FORMAT parquet, COMPRESSION snappy)`,
    );
    const [counted] = await queryRows(
      connection,
      `SELECT count(*) AS n FROM read_parquet(${quoteLiteral(keysPartial)})`,
    );
    const orderBy = [
      'd.fstore_key_id',
      `f.${q(order.timestamp)}`,
      ...(order.created ? [`f.${q(order.created)} NULLS FIRST`] : []),
      'f.fstore_seq',
    ].join(', ');
    const on = order.keys.map((k) => `f.${q(k)} = d.${q(k)}`).join(' AND ');
    const state = JSON.stringify({
      version: formatVersion,
      covered,
      keys: order.keys,
      keyCount: Number(counted?.n ?? 0),
    });
    // snappy: a cache read by every large training set; it decodes with ~5 % less of the
    // join's CPU than zstd (bench:pit's 10M rows) for ~20 % more bytes, and writes faster.
    await connection.run(
      `COPY (SELECT f.*, d.fstore_key_id FROM ${files} f LEFT JOIN read_parquet(${quoteLiteral(keysPartial)}) d ON ${on} ORDER BY ${orderBy}) TO ${quoteLiteral(partial)} (FORMAT parquet, COMPRESSION snappy, KV_METADATA {${metadataKey}: ${quoteLiteral(state)}})`,
    );
    faultPoint('sorted-copy:before-rename');
    await syncFile(partial);
    await syncFile(keysPartial);
    options.signal?.throwIfAborted();
    // The copy first: a stop between the renames leaves a copy without its dictionary, which a
    // read uses as before dictionaries (joining on the keys) and the next refresh writes again.
    await rename(partial, file);
    faultPoint('sorted-copy:between-renames');
    await rename(keysPartial, keysFile);
  } finally {
    stopInterrupting();
    await rm(partial, { force: true });
    await rm(keysPartial, { force: true });
  }
  const now = await storedFileLines(offlineRoot, source);
  if (!now || covered.some((line) => !now.has(line))) {
    await removeCopy(file);
    return { written: false };
  }
  // The copy before stays for a reader that chose it a moment ago; older ones go.
  for (const old of copies.filter((c) => c.file !== file).slice(1)) await removeCopy(old.file);
  await removeUnreadableCopies(connection, dir, [file, ...copies.map((c) => c.file)]);
  return { written: true, file };
}

async function removeCopy(file: string): Promise<void> {
  await rm(file, { force: true });
  await rm(keysFileOf(file), { force: true });
}

/**
 * Removes the dictionaries in `dir` whose copy is gone (a kill between removing a copy and its
 * dictionary): no read uses them, and they hold keys. A writer renames its copy before its
 * dictionary, so a dictionary without its copy is never one being written.
 */
async function removeOrphanDictionaries(dir: string): Promise<void> {
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!name.endsWith(keysSuffix)) continue;
    const file = path.join(dir, name);
    if (!existsSync(`${file.slice(0, -keysSuffix.length)}.parquet`))
      await rm(file, { force: true });
  }
}

/**
 * Removes the copies in `dir` whose state cannot be read (damaged, or of another format
 * version): no read uses them, and no refresh counts them as copies. `known` were read already.
 */
async function removeUnreadableCopies(
  connection: DuckDBConnection,
  dir: string,
  known: readonly string[],
): Promise<void> {
  await removeOrphanDictionaries(dir);
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const file = path.join(dir, name);
    if (!isCopyName(name) || known.includes(file)) continue;
    const state = await readCopyState(connection, file).catch(() => undefined);
    if (!state) await removeCopy(file);
  }
}

/**
 * Removes every file in `source`'s copies folder except the copies holding only committed files
 * and their dictionaries (a temporary of a build too): a copy of files that retention or an erasure replaced holds the
 * rows they deleted, and refreshSortedCopy keeps the copy before its new one. A file whose state
 * cannot be read may hold them as well, so it goes too.
 */
export async function removeStaleSortedCopies(
  connection: DuckDBConnection,
  offlineRoot: string,
  source: string,
): Promise<void> {
  const dir = sortedCopiesDir(offlineRoot, source);
  const names = await readdir(dir).catch(() => [] as string[]);
  if (names.length === 0) return;
  const lines = (await storedFileLines(offlineRoot, source)) ?? new Map<string, string>();
  const current = new Set(
    (await copiesIn(connection, dir))
      .filter((c) => c.covered.every((line) => lines.has(line)))
      .flatMap((c) => [c.file, keysFileOf(c.file)]),
  );
  for (const name of names) {
    const file = path.join(dir, name);
    if (!current.has(file)) await rm(file, { recursive: true, force: true });
  }
}
