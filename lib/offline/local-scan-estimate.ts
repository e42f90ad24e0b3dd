import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { PointInTimePlan } from '../sql/point-in-time-plan.ts';
import { partitionOfPath } from './dt-partition.ts';
import { presentCommittedSourceFiles, sourceDataFiles } from './ingest-manifest.ts';
import {
  inPartitionRange,
  partitionRanges,
  partitionTotals,
  type SourceScanEstimate,
} from './scan-estimate.ts';

export interface LocalSourceScan extends SourceScanEstimate {
  /** The committed data files in the range, absolute paths in `dt` order. */
  readonly files: readonly string[];
}

export interface LocalScanEstimate {
  readonly sources: readonly LocalSourceScan[];
  readonly files: number;
  readonly bytes: number;
}

/**
 * The local data files a training set of `plan` can read for entity rows in `timeRange`: each
 * source's committed files (a store without a manifest: every file) in the `dt` partitions from
 * the earliest entity time minus the longest TTL or window of the plan's views on the source to
 * the latest, the range the Athena statement reads too. A committed file that is gone is refused
 * (MissingCommittedFilesError), as a training set would refuse it.
 */
export async function estimateLocalScan(
  offlineRoot: string,
  plan: PointInTimePlan,
  timeRange: { readonly min: string; readonly max: string },
): Promise<LocalScanEstimate> {
  const sources: LocalSourceScan[] = [];
  for (const range of partitionRanges(plan, timeRange)) {
    const sourceDir = path.join(offlineRoot, range.source);
    const all =
      presentCommittedSourceFiles(offlineRoot, range.source) ??
      sourceDataFiles(offlineRoot, range.source).map((f) => path.join(f.folder, f.name));
    const inRange: { file: string; dt: string; bytes: number }[] = [];
    for (const file of all) {
      const dt = partitionOfPath(path.relative(sourceDir, file));
      if (dt === undefined || !inPartitionRange(range, dt)) continue;
      inRange.push({ file, dt, bytes: (await stat(file)).size });
    }
    inRange.sort((a, b) => (a.dt < b.dt ? -1 : a.dt > b.dt ? 1 : a.file < b.file ? -1 : 1));
    sources.push({
      ...range,
      partitions: partitionTotals(inRange),
      objects: inRange.length,
      bytes: inRange.reduce((total, f) => total + f.bytes, 0),
      reads: 1,
      recordBytes: 0,
      files: inRange.map((f) => f.file),
    });
  }
  return {
    sources,
    files: sources.reduce((total, s) => total + s.objects, 0),
    bytes: sources.reduce((total, s) => total + s.bytes, 0),
  };
}
