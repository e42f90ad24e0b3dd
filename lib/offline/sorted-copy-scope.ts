import type { DuckDBConnection } from '@duckdb/node-api';
import type { PointInTimePlan } from '../sql/point-in-time-plan.ts';
import { KEY_LIST_MAX_ROWS, type RequestScope, scopedSourceFiles } from './request-scope.ts';
import { findSortedCopy, type SortedCopy } from './sorted-copy.ts';

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
