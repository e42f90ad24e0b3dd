import type { DuckDBConnection } from '@duckdb/node-api';
import type { NumberedKeys } from '../sql/asof-key-ids.ts';
import { quoteIdentifier } from '../sql/dialect.ts';
import type { PointInTimePlan } from '../sql/point-in-time-plan.ts';
import type { PointInTimeStrategy } from '../sql/render-training-set.ts';
import { partitionedFile } from './dt-partition.ts';
import { queryRows } from './duckdb-session.ts';
import { pinnedFileReads } from './pinned-file-reads.ts';
import { KEY_LIST_MAX_ROWS, type RequestScope, scopedSourceFiles } from './request-scope.ts';
import { findSortedCopy, type SortedCopy, sortedCopyKeyIds } from './sorted-copy.ts';

/**
 * The sorted copies (sorted-copy.ts) a request reads instead of its sources' files: for a
 * request of more than KEY_LIST_MAX_ROWS rows (a smaller one reads only its keys' rows of the
 * days it reaches), of each source whose rows it does not already hold, and whose days it
 * reaches cover at least half of the source's files (else reading those days costs less).
 * A copy keeps its key dictionary (joined by number) only where numbering pays, see
 * joinsByNumber; without it, the copy is read on its keys, as before dictionaries.
 */
export async function sortedCopiesForRequest(
  connection: DuckDBConnection,
  offlineRoot: string,
  plan: PointInTimePlan,
  scope: RequestScope,
  entities: { readonly table: string; readonly rows: number },
  strategy: PointInTimeStrategy = 'asof',
): Promise<Map<string, SortedCopy>> {
  const copies = new Map<string, SortedCopy>();
  if (entities.rows <= KEY_LIST_MAX_ROWS) return copies;
  const keyCounts = new Map<string, Promise<number>>();
  const requestKeys = (keys: readonly string[]) => {
    const id = JSON.stringify(keys);
    const known = keyCounts.get(id) ?? distinctKeys(connection, entities.table, keys);
    keyCounts.set(id, known);
    return known;
  };
  for (const source of new Set(plan.views.map((v) => v.source))) {
    if (scope.foundRows?.has(source)) continue;
    const committed = scope.committed?.get(source);
    const reached = scopedSourceFiles(offlineRoot, source, scope);
    if (!committed || !reached || reached.length * 2 < committed.files.length) continue;
    const copy = await findSortedCopy(
      connection,
      offlineRoot,
      source,
      committed.files.map((f) => f.path),
      (candidate) => asOfPin(offlineRoot, source, candidate, scope).withinPin !== false,
    );
    const pinned = copy && asOfPin(offlineRoot, source, copy, scope);
    if (!pinned) continue;
    const { keyIds, ...onKeys } = pinned;
    const numbered =
      keyIds !== undefined && (await joinsByNumber(plan, source, pinned, requestKeys, strategy));
    copies.set(source, numbered ? pinned : onKeys);
  }
  return copies;
}

/**
 * `copy` as a read as of the request's pin of `source` sees it (pinned-file-reads.ts, by the
 * manifest records the request read): tail files holding no row within the pin are left out,
 * and when the copy's files and the tail left hold only rows within it, no `fstore_seq` filter
 * is needed (a snapshot taken before the tail was ingested reads the copy as it is). Without a
 * pin, the copy as found.
 */
function asOfPin(
  offlineRoot: string,
  source: string,
  copy: SortedCopy,
  scope: RequestScope,
): SortedCopy {
  const pin = scope.pins?.get(source);
  const records = scope.committed?.get(source)?.records;
  if (pin === undefined || !records) return copy;
  const read = (files: readonly string[]) =>
    pinnedFileReads(offlineRoot, source, files.map(partitionedFile), records, pin);
  const held = read(copy.files);
  const tail = read(copy.tail);
  const withinPin =
    held.filtered.length === 0 && held.skipped.length === 0 && tail.filtered.length === 0;
  const kept = [...tail.whole, ...tail.filtered].map((f) => f.path);
  // The newest ingest's file carries the source's newest columns: kept for them when left out.
  const newest = scope.committed?.get(source)?.newest;
  const columnsOf =
    newest && !copy.files.includes(newest) && !kept.includes(newest) ? newest : undefined;
  return { ...copy, tail: kept, withinPin, ...(columnsOf ? { columnsOf } : {}) };
}

/**
 * Whether the asof join of `source`'s views should take the copy's key numbers: some plain view
 * joins on the copy's keys, and the request asks for at least half of the dictionary's keys.
 * With fewer, numbering the entity rows' keys (asof-key-ids.ts) costs less: its join on the
 * keys drops the rows of the keys not asked for before the join sorts, where the copy's numbers
 * carry every row into it (2,000 rows of 5 keys against bench:pit's 10M-row copy: 1.4 s by
 * number, 0.7 s on the keys).
 */
async function joinsByNumber(
  plan: PointInTimePlan,
  source: string,
  copy: SortedCopy,
  requestKeys: (keys: readonly string[]) => Promise<number>,
  strategy: PointInTimeStrategy,
): Promise<boolean> {
  if (strategy !== 'asof' || !copy.keyIds) return false;
  const keys = JSON.stringify(copy.keys);
  const onCopyKeys = plan.views.some(
    (v) =>
      v.source === source &&
      !v.aggregations &&
      JSON.stringify(v.joinKeys.map((k) => k.name).sort()) === keys,
  );
  if (!onCopyKeys) return false;
  return (await requestKeys(copy.keys)) * 2 >= copy.keyIds.size;
}

/** The distinct non-NULL tuples of `keys` in the entity rows (one count per key set a request reads). */
async function distinctKeys(
  connection: DuckDBConnection,
  entityTable: string,
  keys: readonly string[],
): Promise<number> {
  const columns = keys.map(quoteIdentifier).join(', ');
  const present = keys.map((k) => `${quoteIdentifier(k)} IS NOT NULL`).join(' AND ');
  const [counted] = await queryRows(
    connection,
    `SELECT count(*) AS n FROM (SELECT DISTINCT ${columns} FROM ${entityTable} WHERE ${present})`,
  );
  return Number(counted?.n ?? 0);
}

/** The copies whose rows carry their key tuple's number, for the asof join (asof-key-ids.ts). */
export function numberedCopyKeys(
  copies: ReadonlyMap<string, SortedCopy>,
): ReadonlyMap<string, NumberedKeys> {
  const numbered = new Map<string, NumberedKeys>();
  for (const [source, copy] of copies) {
    const numbering = sortedCopyKeyIds(copy);
    if (numbering !== undefined) numbered.set(source, { keys: copy.keys, numbering });
  }
  return numbered;
}

/** The partition days each copy (and its tail) holds, so a filter keeping them all is left out. */
export function copyHeldDays(
  copies: ReadonlyMap<string, SortedCopy>,
): ReadonlyMap<string, { readonly first: string; readonly last: string }> {
  const held = new Map<string, { readonly first: string; readonly last: string }>();
  for (const [source, copy] of copies) if (copy.days) held.set(source, copy.days);
  return held;
}
