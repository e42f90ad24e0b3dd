/**
 * A row's place in its source's ingest order, rule 2's last tie-break (`fstore_seq`), as far as
 * a tile knows it (ADR 0020, "Ties for `last`"). A batch row, and any row of a tile base, has
 * its `fstore_seq`. A pushed row is tiled before its push log is ingested, so it has none; but
 * logs are ingested in the order of their names, so its log's key places it among other pushed
 * rows, and a base row's `pushLogsUpTo` (the greatest log key ingested at or before it, which
 * the run writing the base reads from the commit records) places it against that row.
 */
export interface IngestOrder {
  /** `fstore_seq`; null for a pushed row (not ingested when it was tiled). */
  readonly seq: bigint | null;
  /**
   * A pushed row: its push log's key, `<stamp>-<push id>` (lib/push/push-log.ts pushLogKey).
   * Absent on rows pushed before keys were kept, or with no log (`"to": "online"`).
   */
  readonly pushLog?: string;
  /**
   * A base row: the greatest push log key among the logs ingested at or before it (its own
   * log's for a pushed row). Absent: no push log with a key was ingested before it.
   */
  readonly pushLogsUpTo?: string;
}

/**
 * Which of two rows tied on event and created time was ingested later (positive: `a`), as
 * offline: two pushed rows by their logs' keys; a pushed row against a base row by whether its
 * log sorts after every log ingested up to that row (a log not ingested yet always does);
 * otherwise by `fstore_seq`, a missing one (a row tiled without a log key) lowest. This is a
 * total order (each row sits where its ingest puts it), so merges stay associative.
 */
export function compareIngestOrder(a: IngestOrder, b: IngestOrder): number {
  if (a.pushLog !== undefined && b.pushLog !== undefined)
    return a.pushLog < b.pushLog ? -1 : a.pushLog > b.pushLog ? 1 : 0;
  if (a.pushLog !== undefined) return pushedAgainst(a.pushLog, b);
  if (b.pushLog !== undefined) return -pushedAgainst(b.pushLog, a);
  return compareNullable(a.seq, b.seq);
}

function pushedAgainst(log: string, other: IngestOrder): 1 | -1 {
  if (other.seq === null) return 1;
  return other.pushLogsUpTo === undefined || log > other.pushLogsUpTo ? 1 : -1;
}

/** Two optional times or sequences, a missing one lowest. */
export function compareNullable(a: bigint | null, b: bigint | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return a < b ? -1 : 1;
}

/** The ordering fields of `row` that are set, for a state or a stored row. */
export function ingestOrderOf(row: IngestOrder): IngestOrder {
  return {
    seq: row.seq,
    ...(row.pushLog === undefined ? {} : { pushLog: row.pushLog }),
    ...(row.pushLogsUpTo === undefined ? {} : { pushLogsUpTo: row.pushLogsUpTo }),
  };
}

/** Whether a decoded `last` candidate's ordering keys, when present, are text (else damaged). */
export function hasWellFormedOrder(candidate: unknown): boolean {
  if (candidate === null || candidate === undefined) return true;
  const { pushLog, pushLogsUpTo } = candidate as Record<string, unknown>;
  return (
    (pushLog === undefined || typeof pushLog === 'string') &&
    (pushLogsUpTo === undefined || typeof pushLogsUpTo === 'string')
  );
}
