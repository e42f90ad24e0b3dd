import { readFile } from 'node:fs/promises';
import libCoverage, {
  type CoverageMap,
  type CoverageMapData,
  type FileCoverageData,
} from 'istanbul-lib-coverage';

export interface InProcessMerge {
  map: CoverageMap;
  /** Files whose maps differed between shards (edited mid-run?), merged by istanbul's
   * location matching instead of entry by entry. */
  differingFiles: string[];
}

/**
 * Adds up the in-process maps of several shards. Every shard maps every file of lib/ the same
 * way (loaded or not, vitest converts it from the same source), so counts add entry by entry;
 * a file whose maps differ falls back to istanbul's merge, which matches entries by location.
 */
export async function mergeInProcessMaps(files: readonly string[]): Promise<InProcessMerge> {
  const merged = new Map<string, FileCoverageData>();
  const differing = new Set<string>();
  for (const file of files) {
    const data = JSON.parse(await readFile(file, 'utf8')) as CoverageMapData;
    for (const [source, value] of Object.entries(data)) {
      const next = 'data' in value ? (value.data as FileCoverageData) : value;
      const known = merged.get(source);
      if (!known) {
        merged.set(source, structuredClone(next));
      } else if (sameStructure(known, next)) {
        addCounts(known, next);
      } else {
        differing.add(source);
        const fallback = libCoverage.createFileCoverage(known);
        fallback.merge(libCoverage.createFileCoverage(next));
        merged.set(source, fallback.toJSON() as FileCoverageData);
      }
    }
  }
  return {
    map: libCoverage.createCoverageMap(Object.fromEntries(merged)),
    differingFiles: [...differing].sort(),
  };
}

function sameStructure(a: FileCoverageData, b: FileCoverageData): boolean {
  return (
    JSON.stringify(a.statementMap) === JSON.stringify(b.statementMap) &&
    JSON.stringify(a.fnMap) === JSON.stringify(b.fnMap) &&
    JSON.stringify(a.branchMap) === JSON.stringify(b.branchMap)
  );
}

function addCounts(into: FileCoverageData, from: FileCoverageData): void {
  for (const [id, count] of Object.entries(from.s)) into.s[id] = (into.s[id] ?? 0) + count;
  for (const [id, count] of Object.entries(from.f)) into.f[id] = (into.f[id] ?? 0) + count;
  for (const [id, arms] of Object.entries(from.b)) {
    const previous = into.b[id] ?? [];
    into.b[id] = arms.map((count, arm) => (previous[arm] ?? 0) + count);
  }
}
