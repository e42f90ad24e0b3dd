import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { dayOfMicros } from '../epoch-micros.ts';
import { type PointInTimePlan, requiredJoinKeys } from '../sql/point-in-time-plan.ts';
import { partitionedFile } from './dt-partition.ts';
import { sourceDataFiles } from './ingest-manifest.ts';
import {
  type DayRange,
  requestScope,
  scopedSourceFiles,
  withCommittedFiles,
} from './request-scope.ts';
import { type PartitionObjects, partitionTotals } from './scan-estimate.ts';
import { sortedCopiesForRequest } from './sorted-copy-scope.ts';
import { type ViewRead, type ViewReadOptions, viewReads } from './view-reads.ts';

/** A data file a local training set reads, with its size. */
export interface ScannedFile {
  readonly path: string;
  /** Its `dt` partition; undefined for a file outside a `dt=YYYY-MM-DD` folder. */
  readonly dt?: string;
  readonly bytes: number;
}

/** What a local training set reads of one source. */
export interface LocalSourceScan {
  readonly source: string;
  /**
   * The days its entity rows' windows reach (`from` undefined: no lower bound); undefined when
   * the store has no manifest and the source is read whole.
   */
  readonly days?: readonly { readonly from?: string; readonly to: string }[];
  readonly partitions: readonly PartitionObjects[];
  /** The files the training set opens, in `dt` then path order. */
  readonly files: readonly ScannedFile[];
  readonly bytes: number;
  /** The source's sorted copy (ADR 0023), first of `files`, when the run reads it. */
  readonly sortedCopy?: string;
}

export interface LocalScanEstimate {
  /** The sources whose data files the run opens: those of views not answered whole by running totals. */
  readonly sources: readonly LocalSourceScan[];
  /** What each view reads: its source's files, its running totals, or both. */
  readonly views: readonly ViewRead[];
  /**
   * Per join key, how many distinct values the scans keep rows of (requests of at most
   * KEY_LIST_MAX_ROWS rows); undefined: every key's rows are read.
   */
  readonly keyValues?: Readonly<Record<string, number>>;
  readonly files: number;
  readonly bytes: number;
}

/**
 * What a local training set of `plan` with `options` reads for the entity rows loaded as
 * `entityTable`: per view, its source's files or its running totals (viewReads), and per source
 * whose files a view reads, exactly the files the run names (`scopedSourceFiles` of the same
 * `requestScope`: the committed files of the days each row's window reaches, plus the newest
 * ingest's first file), with their sizes. A committed file that is gone is refused
 * (MissingCommittedFilesError), as the training set would refuse it.
 */
export async function estimateLocalScan(
  connection: DuckDBConnection,
  offlineRoot: string,
  plan: PointInTimePlan,
  entities: { readonly table: string; readonly rows: number },
  options: ViewReadOptions = {},
): Promise<LocalScanEstimate> {
  const views = viewReads(plan, options, entities.rows);
  const scope = await requestScope(
    connection,
    entities.table,
    plan,
    entities.rows,
    requiredJoinKeys(plan),
  );
  const copies = await sortedCopiesForRequest(
    connection,
    offlineRoot,
    plan,
    withCommittedFiles(offlineRoot, plan, scope),
    entities,
    options.strategy,
  );
  const sources: LocalSourceScan[] = [];
  for (const source of new Set(views.filter((v) => v.sourceFiles).map((v) => v.source))) {
    const copy = copies.get(source);
    const read = copy
      ? [
          { path: copy.file },
          ...(copy.keyIds ? [{ path: copy.keyIds.file }] : []),
          ...copy.tail.map(partitionedFile),
        ]
      : (scopedSourceFiles(offlineRoot, source, scope) ??
        sourceDataFiles(offlineRoot, source).map((f) =>
          partitionedFile(path.join(f.folder, f.name)),
        ));
    const files: ScannedFile[] = [];
    for (const { path: file, dt } of read)
      files.push({ path: file, ...(dt ? { dt } : {}), bytes: (await stat(file)).size });
    files.sort(
      (a, b) =>
        Number(b.path === copy?.file) - Number(a.path === copy?.file) ||
        order(a.dt ?? '', b.dt ?? '') ||
        order(a.path, b.path),
    );
    const days = scope.sourceDays.get(source);
    sources.push({
      source,
      ...(days ? { days: days.map(dayRangeText) } : {}),
      partitions: partitionTotals(
        files.flatMap((f) => (f.dt ? [{ dt: f.dt, bytes: f.bytes }] : [])),
      ),
      files,
      bytes: files.reduce((total, f) => total + f.bytes, 0),
      ...(copy ? { sortedCopy: copy.file } : {}),
    });
  }
  return {
    sources,
    views,
    ...(scope.keyValues
      ? {
          keyValues: Object.fromEntries(
            [...scope.keyValues].map(([name, values]) => [name, values.length]),
          ),
        }
      : {}),
    files: sources.reduce((total, s) => total + s.files.length, 0),
    bytes: sources.reduce((total, s) => total + s.bytes, 0),
  };
}

const order = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

const dayText = (day: number) => dayOfMicros(BigInt(day) * 86_400_000_000n);

function dayRangeText(range: DayRange): { from?: string; to: string } {
  return {
    ...(range.from === undefined ? {} : { from: dayText(range.from) }),
    to: dayText(range.to),
  };
}
