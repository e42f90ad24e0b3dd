import path from 'node:path';
import type { IngestRecord } from '../offline/ingest-manifest.ts';

/**
 * Which rows of an ingest pushes applied to the tiles of aggregation views (ADR 0020,
 * "Pushed rows in the base"). Push-log compaction (local) and staged-push compaction (AWS)
 * write, in the commit record of every ingest of pushed rows, `pushTiledRows`: the row offsets
 * from `firstSeq`, as `[start, end)` pairs, whose push wrote them to tiles. A tile base leaves
 * exactly those rows out (they are in the tiles by their row ids) and counts every other row:
 * batch ingests, rows pushed `"to": "offline"`, rows pushed while their source had no tile-fed
 * view. A local push-log ingest committed before the field existed (its file under
 * `_push/<source>/`) was left out whole, as every pushed row was then: it still is.
 */
export function tiledSeqRanges(record: IngestRecord, source: string): [bigint, bigint][] {
  if (record.rows <= 0) return [];
  const first = BigInt(record.firstSeq);
  const ranges = record.pushTiledRows;
  if (ranges === undefined) {
    const legacy = record.file.includes(`${path.sep}_push${path.sep}${source}${path.sep}`);
    return legacy ? [[first, first + BigInt(record.rows) - 1n]] : [];
  }
  checkTiledRows(record);
  return ranges.map(([start, end]) => [first + BigInt(start), first + BigInt(end) - 1n]);
}

/** Offsets as a commit record holds them: increasing, apart, non-empty, within the ingest. */
function checkTiledRows(record: IngestRecord): void {
  const ranges: unknown = record.pushTiledRows;
  let previousEnd = 0;
  const fits =
    Array.isArray(ranges) &&
    ranges.every((range: unknown) => {
      if (!Array.isArray(range) || range.length !== 2) return false;
      const [start, end] = range as unknown[];
      if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) return false;
      const ok =
        (start as number) >= previousEnd &&
        (start as number) < (end as number) &&
        (end as number) <= record.rows;
      previousEnd = end as number;
      return ok;
    });
  if (!fits)
    throw new Error(
      `the commit record of ingest ${record.ingestId} (source ${record.source}) holds pushTiledRows ${JSON.stringify(ranges)}, which are not increasing [start, end) row offsets within its ${record.rows} rows; no tile base is written from it`,
    );
}

/**
 * `[start, end)` offsets of the tiled rows of an ingest made of consecutive segments (push logs
 * in batch order, each tiled or not), adjacent runs joined.
 */
export function tiledRowRuns(
  segments: Iterable<{ readonly rows: number; readonly tiled: boolean }>,
): [number, number][] {
  const runs: [number, number][] = [];
  let offset = 0;
  for (const { rows, tiled } of segments) {
    const last = runs[runs.length - 1];
    if (tiled && rows > 0 && last && last[1] === offset) last[1] = offset + rows;
    else if (tiled && rows > 0) runs.push([offset, offset + rows]);
    offset += rows;
  }
  return runs;
}
