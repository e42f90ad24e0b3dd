import type { DuckDBConnection } from '@duckdb/node-api';
import type { NumberedKeys } from '../sql/asof-key-ids.ts';
import type { PointInTimePlan } from '../sql/point-in-time-plan.ts';
import type { PointInTimeStrategy } from '../sql/render-training-set.ts';
import { KEY_LIST_MAX_ROWS, type RequestScope, scopedSourceFiles } from './request-scope.ts';
import { findSortedCopy, type SortedCopy, sortedCopyKeyIds } from './sorted-copy.ts';

/**
 * The sorted copies (sorted-copy.ts) a request reads instead of its sources' files: for a
 * request of more than KEY_LIST_MAX_ROWS rows (a smaller one reads only its keys' rows of the
 * days it reaches), of each source whose rows it does not already hold, and whose days it
 * reaches cover at least half of the source's files (else reading those days costs less).
 */
export async function sortedCopiesForRequest(
  connection: DuckDBConnection,
  offlineRoot: string,
  plan: PointInTimePlan,
  scope: RequestScope,
  entityRows: number,
): Promise<Map<string, SortedCopy>> {
  const copies = new Map<string, SortedCopy>();
  if (entityRows <= KEY_LIST_MAX_ROWS) return copies;
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
    );
    if (copy) copies.set(source, copy);
  }
  return copies;
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

/**
 * Whether a run reads `copy`'s key dictionary: to number its tail's keys, or, with the asof
 * strategy, to number the entity rows of a plain view of `source` on the copy's keys.
 */
export function readsKeyDictionary(
  copy: SortedCopy,
  plan: PointInTimePlan,
  source: string,
  strategy: PointInTimeStrategy,
): boolean {
  if (!copy.keyIds) return false;
  if (copy.tail.length > 0) return true;
  const keys = JSON.stringify(copy.keys);
  return (
    strategy === 'asof' &&
    plan.views.some(
      (v) =>
        v.source === source &&
        !v.aggregations &&
        JSON.stringify(v.joinKeys.map((k) => k.name).sort()) === keys,
    )
  );
}
