/**
 * Rows a snapshot pins (issue 19 §1): a snapshot reads each source's rows with
 * `fstore_seq <= throughSeq`, so retention must not delete any of them unless told to (--force).
 */
export interface RetentionPin {
  readonly snapshot: string;
  readonly source: string;
  readonly throughSeq: number;
}

/**
 * HOOK for snapshots (issue 19 §1, lib/offline/snapshots.ts `snapshotPins(dataDir, env)`): the
 * pins of the local store's snapshots. Until snapshots exist there are none, and retention
 * deletes what its rule says; the retention code takes pins as an input and refuses pinned
 * rows, so wiring snapshots in is this one function.
 */
export async function localSnapshotPins(
  _dataDir: string,
  _env: string,
): Promise<readonly RetentionPin[]> {
  return [];
}
