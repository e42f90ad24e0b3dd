import { pinsOf, type Snapshot } from '../offline/snapshot-format.ts';
import type { ObjectHoldingKeys } from './athena-objects-holding-keys.ts';

/**
 * The names of `snapshots` (in their order) that held rows of `source` found in `found`, by the
 * rule the local delete uses: a snapshot pinning the source at or above the smallest
 * `fstore_seq` of those rows. When an object holding rows has no `fstore_seq` (Athena reads
 * NULL), the smallest is unknown and every snapshot pinning the source is named.
 */
export function snapshotsHoldingRows(
  snapshots: readonly Snapshot[],
  source: string,
  found: readonly ObjectHoldingKeys[],
): string[] {
  const holding = found.filter((o) => o.rows > 0);
  if (holding.length === 0) return [];
  const seqs = holding.map((o) => o.minSeq);
  const smallest = seqs.every((s) => s !== undefined)
    ? seqs.reduce((a, b) => (b < a ? b : a))
    : undefined;
  return snapshots
    .filter((snapshot) => {
      const pin = pinsOf(snapshot).get(source);
      return pin !== undefined && (smallest === undefined || pin >= smallest);
    })
    .map((snapshot) => snapshot.name);
}
