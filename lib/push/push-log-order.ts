import { DamagedCommitRecordError } from '../offline/damaged-commit-record.ts';
import type { IngestRecord } from '../offline/ingest-manifest.ts';

/**
 * For each `fstore_seq` of a source, the greatest key of the push logs ingested at or before it
 * (IngestOrder.pushLogsUpTo, ADR 0020 "Ties for `last`"), from the `pushLogs` of its commit
 * records: a tiled pushed row whose log key sorts after it was ingested after that row. The
 * greatest so far, not the latest, so the answer never falls as the sequence grows (ingests
 * commit one after another locally, so they are the same unless a log was written with a lower
 * stamp after a higher one was ingested, which the push log stamps rule out within a process).
 * Undefined below the first log with a key: records written before `pushLogs` existed, and
 * AWS records (staged pushes have no logs), name none.
 */
export function pushLogOrder(
  records: readonly IngestRecord[],
  source: string,
): (seq: bigint) => string | undefined {
  const starts: { seq: bigint; key: string }[] = [];
  for (const record of records) {
    if (record.source !== source || record.pushLogs === undefined || record.rows <= 0) continue;
    checkPushLogs(record);
    const first = BigInt(record.firstSeq);
    for (const [offset, key] of record.pushLogs)
      if (isLogKey(key)) starts.push({ seq: first + BigInt(offset), key });
  }
  starts.sort((a, b) => (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0));
  const greatest: string[] = [];
  for (const { key } of starts) {
    const previous = greatest[greatest.length - 1];
    greatest.push(previous !== undefined && previous > key ? previous : key);
  }
  return (seq) => {
    // The last start at or before seq, by binary search.
    let low = 0;
    let high = starts.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((starts[middle] as { seq: bigint }).seq <= seq) low = middle + 1;
      else high = middle;
    }
    return low === 0 ? undefined : greatest[low - 1];
  };
}

/** A key of a log whose rows may be tiled with it: `<stamp to the microsecond>-<hex>`. */
const logKeyPattern = /^\d{8}T\d{6}\.\d{6}-[0-9a-f]+$/;

/**
 * Whether `key` places its log in the ingest order. Not the key of a log of the first name
 * format (`<stamp to the second>-<12 hex>`, written before tiles: no row carries its key, and
 * its rows are base rows ranked by `fstore_seq`) nor of a `.jsonl` put in the log folder by
 * hand (compaction ingests it too): compaction leaves them out of `pushLogs`, so a release
 * before this rule, which refused such keys, reads the records it writes.
 */
export function isLogKey(key: string): boolean {
  return logKeyPattern.test(key);
}

/**
 * `pushLogs` as a commit record holds them: increasing offsets within its rows, each with its
 * log's key. A key that is no log key (isLogKey: compaction recorded every log's before it left
 * them out) is kept out of the order, not refused: that refusal stopped every later tile base
 * of the source.
 */
function checkPushLogs(record: IngestRecord): void {
  const logs: unknown = record.pushLogs;
  let previous = -1;
  const fits =
    Array.isArray(logs) &&
    logs.length > 0 &&
    logs.every((log: unknown) => {
      if (!Array.isArray(log) || log.length !== 2) return false;
      const [offset, key] = log as unknown[];
      const ok =
        Number.isSafeInteger(offset) &&
        (offset as number) > previous &&
        (offset as number) < record.rows &&
        typeof key === 'string';
      previous = offset as number;
      return ok;
    });
  if (!fits)
    throw new DamagedCommitRecordError(
      `the commit record of ingest ${record.ingestId} (source ${record.source}) holds pushLogs ${JSON.stringify(logs)}, which are not [offset, log key] pairs with increasing row offsets within its ${record.rows} rows; no tile base is written from it`,
    );
}
