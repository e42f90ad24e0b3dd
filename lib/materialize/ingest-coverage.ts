import { partitionOfPath } from '../offline/dt-partition.ts';

/**
 * Which committed ingests a view's online items already reflect, so a run reads only the rows
 * of the others. An ingest is known by its id, its `fstore_seq` range and when it committed.
 */

/** One committed ingest of a view's source, as the materializer needs it. */
export interface CommittedIngest {
  readonly ingestId: string;
  /** An integer; on S3 above 2^53, but a multiple of 2^20, so a double holds it exactly. */
  readonly firstSeq: number;
  readonly rows: number;
  /** Commit time in milliseconds, by the clock of whoever wrote the commit point. */
  readonly committedAtMs: number;
  /** `YYYY-MM-DD` partitions its rows are in; absent when its record does not name its files. */
  readonly days?: readonly string[];
}

/** The committed ingests of one source, read at the start of a run (the run's snapshot). */
export interface IngestLog {
  /**
   * True when sequence numbers are handed out in commit order (the local store allocates them
   * and commits under one lock), so "every ingest up to sequence N" is an exact coverage that
   * needs no clock. False or absent (S3: numbers come from each writer's clock), coverage goes
   * by commit time with a settle period.
   */
  readonly seqInCommitOrder?: boolean;
  /**
   * Undefined when the store keeps no commit records (files placed by hand). Ingests `covered`
   * settles may come back without their sequence range (`rows` 0): the caller skips them.
   */
  committedIngests(
    source: string,
    covered?: IngestCoverage,
  ): Promise<readonly CommittedIngest[] | undefined>;
}

/** Which ingests a view's items reflect: by commit time (S3) or by sequence number (local). */
export type IngestCoverage = CoverageByCommitTime | CoverageBySeq;

/**
 * Every ingest committed before `settledBeforeMs`, plus those named in `ingestIds` (committed
 * later). Bounded: only ingests of the last settle period are named.
 */
export interface CoverageByCommitTime {
  readonly settledBeforeMs: number;
  readonly ingestIds: readonly string[];
}

/**
 * Every ingest whose rows all have `fstore_seq <= seqThrough` (decimal text). Exact where
 * numbers follow commit order: an ingest committing after a run read the log gets greater
 * numbers than all it saw, whatever the clock says. One number, however many ingests.
 */
export interface CoverageBySeq {
  readonly seqThrough: string;
}

/**
 * How far behind the newest commit a commit can still appear: a commit point is written with
 * a time taken just before it is written, so one written while a run read the log carries a
 * time a little before the newest it saw (more when writers' clocks disagree). Ten minutes
 * covers slow writes and clock skew by a wide margin, at the cost of naming the ingests of the
 * last ten minutes in the state.
 */
export const defaultSettleMs = 10 * 60_000;

const lastSeqOf = (ingest: CommittedIngest) => BigInt(ingest.firstSeq) + BigInt(ingest.rows) - 1n;

export function isCovered(coverage: IngestCoverage, ingest: CommittedIngest): boolean {
  if ('seqThrough' in coverage)
    return ingest.rows === 0 || lastSeqOf(ingest) <= BigInt(coverage.seqThrough);
  return (
    ingest.committedAtMs < coverage.settledBeforeMs || coverage.ingestIds.includes(ingest.ingestId)
  );
}

/** The ingests of `snapshot` a run with this coverage has not seen. */
export function uncoveredIngests(
  coverage: IngestCoverage,
  snapshot: readonly CommittedIngest[],
): CommittedIngest[] {
  return snapshot.filter((ingest) => !isCovered(coverage, ingest));
}

/**
 * The coverage once every ingest of `snapshot` is written. By sequence: through the greatest
 * sequence number in the snapshot (or the previous coverage's). By commit time: its settle point
 * lags the newest commit in the snapshot by `settleMs`, so an ingest that committed while the
 * snapshot was read (and is not in it) falls after the settle point and is seen by the next run.
 */
export function coverageAfter(
  previous: IngestCoverage | undefined,
  snapshot: readonly CommittedIngest[],
  settleMs = defaultSettleMs,
  bySeq = false,
): IngestCoverage {
  if (bySeq) {
    let through = previous && 'seqThrough' in previous ? BigInt(previous.seqThrough) : 0n;
    for (const ingest of snapshot)
      if (ingest.rows > 0 && lastSeqOf(ingest) > through) through = lastSeqOf(ingest);
    return { seqThrough: through.toString() };
  }
  const previousSettle =
    previous && 'settledBeforeMs' in previous ? previous.settledBeforeMs : -Infinity;
  const newest = snapshot.reduce((max, i) => Math.max(max, i.committedAtMs), -Infinity);
  const settledBeforeMs = Math.max(
    previousSettle,
    Number.isFinite(newest) ? newest - settleMs : -Infinity,
  );
  // Past the cap the earliest-committed are left unnamed: uncovered, their rows are read again
  // (writes are conditional: harmless, but paid) until their commit time settles.
  const named = snapshot
    .filter((i) => i.committedAtMs >= settledBeforeMs)
    .sort((a, b) => b.committedAtMs - a.committedAtMs)
    .slice(0, maxNamedIngests);
  return {
    settledBeforeMs: Number.isFinite(settledBeforeMs) ? settledBeforeMs : 0,
    ingestIds: named.map((i) => i.ingestId).sort(),
  };
}

/**
 * Ingests a coverage by commit time names at most: about 27 bytes each in the state item,
 * which DynamoDB caps at 400 KB. More than this many commits within one settle period (over
 * three a second) costs re-reads, never a skipped ingest.
 */
export const maxNamedIngests = 2_000;

/**
 * Partitions a run names to prune its scan at most (13 bytes each, in the checkpoint); past
 * this it reads by sequence ranges alone: the same rows, with less pruning.
 */
export const maxNamedDays = 1_000;

/** What a run reads of new ingests: `fstore_seq` ranges (inclusive) and, when known, partitions. */
export interface NewIngestRows {
  readonly ingests: number;
  readonly rows: number;
  /**
   * Decimal text: on S3 sequence numbers are milliseconds × 2^20, past the integers a double
   * holds exactly, so a range's end is computed as a bigint, never as a number.
   */
  readonly seqRanges: readonly (readonly [string, string])[];
  /** Partitions holding them; absent when some ingest does not name its files. */
  readonly days?: readonly string[];
}

/**
 * The SQL filter of new ingests' rows. Past `maxRanges` ranges the closest ones are merged, so
 * the statement stays short; a merged range may take in rows of covered ingests between them,
 * which a run then reads again (harmless: writes are conditional), never fewer rows.
 */
export function newIngestRows(ingests: readonly CommittedIngest[], maxRanges = 50): NewIngestRows {
  const days = [...new Set(ingests.flatMap((i) => i.days ?? []))].sort();
  const known = ingests.every((i) => i.days !== undefined) && days.length <= maxNamedDays;
  return {
    ingests: ingests.length,
    rows: ingests.reduce((sum, i) => sum + i.rows, 0),
    seqRanges: capRanges(joinTouching(seqRangesOf(ingests)), Math.max(1, maxRanges)).map(
      ([first, last]) => [first.toString(), last.toString()] as const,
    ),
    ...(known ? { days } : {}),
  };
}

type SeqRange = readonly [bigint, bigint];

function seqRangesOf(ingests: readonly CommittedIngest[]): SeqRange[] {
  return ingests
    .filter((i) => i.rows > 0)
    .map((i) => [BigInt(i.firstSeq), BigInt(i.firstSeq) + BigInt(i.rows) - 1n] as const)
    .sort((a, b) => compare(a[0], b[0]));
}

/** Sorted ranges with overlapping or adjacent ones joined, in one pass. */
function joinTouching(sorted: readonly SeqRange[]): SeqRange[] {
  const joined: [bigint, bigint][] = [];
  for (const [first, last] of sorted) {
    const previous = joined.at(-1);
    if (previous && first <= previous[1] + 1n) {
      if (last > previous[1]) previous[1] = last;
    } else joined.push([first, last]);
  }
  return joined;
}

/**
 * At most `max` ranges, joining neighbours across the smallest gaps (the earlier gap first among
 * equal ones). Joining two neighbours changes no other gap, so this picks the same gaps as
 * joining the closest pair one at a time, but in one sort and one pass instead of a scan per
 * join (20,000 ingests took seconds).
 */
function capRanges(ranges: readonly SeqRange[], max: number): SeqRange[] {
  const excess = ranges.length - max;
  if (excess <= 0) return [...ranges];
  const gapAfter = (i: number) => (ranges[i + 1] as SeqRange)[0] - (ranges[i] as SeqRange)[1];
  const closed = new Set(
    Array.from({ length: ranges.length - 1 }, (_, i) => ({ i, gap: gapAfter(i) }))
      .sort((a, b) => compare(a.gap, b.gap) || a.i - b.i)
      .slice(0, excess)
      .map(({ i }) => i),
  );
  const capped: [bigint, bigint][] = [];
  ranges.forEach(([first, last], i) => {
    const previous = capped.at(-1);
    if (previous && closed.has(i - 1)) previous[1] = last;
    else capped.push([first, last]);
  });
  return capped;
}

const compare = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);

/** Partitions of an ingest's files, or undefined when any file's partition is unknown. */
export function partitionsOfFiles(files: readonly string[] | undefined): string[] | undefined {
  if (!files) return undefined;
  const days = files.map(partitionOfPath);
  if (days.some((d) => d === undefined)) return undefined;
  return [...new Set(days as string[])].sort();
}
