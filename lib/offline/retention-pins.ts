import { snapshotPins } from './snapshots.ts';

/**
 * Rows a snapshot pins (issue 19 §1): a snapshot reads each source's rows with
 * `fstore_seq <= throughSeq`, so retention must not delete any of them unless told to (--force).
 */
export interface RetentionPin {
  readonly snapshot: string;
  readonly source: string;
  readonly throughSeq: bigint;
}

/** The pins of the local store's snapshots (lib/offline/snapshots.ts), one per snapshot and source. */
export async function localSnapshotPins(
  dataDir: string,
  env: string,
): Promise<readonly RetentionPin[]> {
  return (await snapshotPins(dataDir, env)).flatMap(({ name, pins }) =>
    [...pins].map(([source, throughSeq]) => ({ snapshot: name, source, throughSeq })),
  );
}
