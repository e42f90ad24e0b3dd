import { stat } from 'node:fs/promises';
import type { DuckDBConnection } from '@duckdb/node-api';
import { formatMicros, microsPerDay } from '../epoch-micros.ts';
import type { Dialect } from '../sql/dialect.ts';
import { quoteLiteral } from '../sql/dialect.ts';
import { partitionedFile } from './dt-partition.ts';
import { queryRows } from './duckdb-session.ts';
import { committedFilesOf, type IngestRecord } from './ingest-manifest.ts';
import { retentionBoundary } from './retention-boundary.ts';
import type { RetentionPin } from './retention-pins.ts';

/** One committed file holding rows older than the boundary. */
export interface RetentionFileStep {
  /** Absolute path. */
  readonly file: string;
  /** `YYYY-MM-DD`. */
  readonly dt: string;
  readonly bytes: number;
  readonly rows: number;
  /** Rows older than the boundary that go; `rows` means the whole file goes. */
  readonly oldRows: number;
  /** Smallest `fstore_seq` among the rows that go (what a snapshot pin is compared with). */
  readonly oldestSeq: number;
}

export interface SourceRetentionPlan {
  readonly source: string;
  /** The retention applied, in seconds, and where it comes from. */
  readonly retentionSeconds: number;
  readonly from: 'source' | 'environment';
  /** Rows with event time before this instant (ISO, UTC) are deleted. */
  readonly boundary: string;
  readonly steps: readonly RetentionFileStep[];
  /** Snapshots whose pinned rows the steps would delete. */
  readonly pinnedBy: readonly string[];
  /** Rows older than the boundary kept because a snapshot pins them (`keepThrough`). */
  readonly rowsKept: number;
  /** The highest pin of the source whose rows are kept; absent: none kept (no pin, or force). */
  readonly keepThrough?: bigint;
}

/**
 * What retention deletes of one source: the committed files of partitions up to the boundary's
 * day whose event time column has values before the boundary. A file whose every row is older
 * goes whole (every file of a partition before the boundary's day, by the layout); a file with
 * some older rows is rewritten without them. Partitions after the boundary's day hold no older
 * row (`dt` is the event time's UTC day), so they are not read. A NULL event time is never
 * older. Pins: with `keepThrough`, older rows with `fstore_seq` at or below it stay (a snapshot
 * pins them) and are counted as kept; a step deleting a row with `fstore_seq` at or below a pin of
 * this source names the pin's snapshot.
 */
export async function planSourceRetention(
  connection: DuckDBConnection,
  dialect: Dialect,
  options: {
    readonly offlineRoot: string;
    readonly source: string;
    readonly timestampField: string;
    readonly records: readonly IngestRecord[];
    readonly retentionSeconds: number;
    readonly from: 'source' | 'environment';
    readonly nowMicros: bigint;
    readonly pins: readonly RetentionPin[];
    /** Keep the older rows with `fstore_seq` at or below this (the source's highest pin). */
    readonly keepThrough?: bigint;
  },
): Promise<SourceRetentionPlan> {
  const boundary = retentionBoundary(options.nowMicros, options.retentionSeconds);
  const boundaryDay = Number(
    (boundary - (((boundary % microsPerDay) + microsPerDay) % microsPerDay)) / microsPerDay,
  );
  const candidates = committedFilesOf(options.offlineRoot, options.source, options.records)
    .map(partitionedFile)
    .filter((f) => f.day !== undefined && f.day <= boundaryDay);
  const plan = {
    source: options.source,
    retentionSeconds: options.retentionSeconds,
    from: options.from,
    boundary: formatMicros(boundary),
    ...(options.keepThrough !== undefined ? { keepThrough: options.keepThrough } : {}),
  };
  if (candidates.length === 0) return { ...plan, steps: [], pinnedBy: [], rowsKept: 0 };
  const ts = dialect.quote(options.timestampField);
  const older = `${ts} < ${dialect.timestampLiteral(formatMicros(boundary))}`;
  const pinned =
    options.keepThrough !== undefined ? `fstore_seq <= ${options.keepThrough}` : 'false';
  const goes = `${older} AND (${pinned}) IS NOT TRUE`;
  const rows = await queryRows(
    connection,
    `SELECT filename, count(*) AS total, count(*) FILTER (WHERE ${goes}) AS old, count(*) FILTER (WHERE ${older} AND ${pinned}) AS kept, min(fstore_seq) FILTER (WHERE ${goes}) AS oldest_seq FROM read_parquet([${candidates.map((c) => quoteLiteral(c.path)).join(', ')}], filename = true, hive_partitioning = false, union_by_name = true) GROUP BY filename`,
  );
  const steps: RetentionFileStep[] = [];
  let rowsKept = 0;
  for (const candidate of candidates) {
    const row = rows.find((r) => r.filename === candidate.path);
    rowsKept += Number(row?.kept ?? 0);
    const oldRows = Number(row?.old ?? 0);
    if (!row || oldRows === 0) continue;
    steps.push({
      file: candidate.path,
      dt: candidate.dt as string,
      bytes: (await stat(candidate.path)).size,
      rows: Number(row.total),
      oldRows,
      oldestSeq: Number(row.oldest_seq),
    });
  }
  return {
    ...plan,
    steps,
    pinnedBy: snapshotsPinning(options.source, steps, options.pins),
    rowsKept,
  };
}

/** The snapshots (sorted, once each) pinning a row of `source` that `steps` delete. */
export function snapshotsPinning(
  source: string,
  steps: readonly RetentionFileStep[],
  pins: readonly RetentionPin[],
): string[] {
  if (steps.length === 0) return [];
  // Local seqs are counters, exact as numbers; pins are bigint (S3 clock seqs pass 2^53).
  const oldestSeq = BigInt(Math.min(...steps.map((s) => s.oldestSeq)));
  const pinnedBy = pins
    .filter((pin) => pin.source === source && oldestSeq <= pin.throughSeq)
    .map((pin) => pin.snapshot);
  return [...new Set(pinnedBy)].sort();
}
