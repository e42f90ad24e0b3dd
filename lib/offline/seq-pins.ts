import type { IngestRecord } from './ingest-manifest.ts';

/**
 * Per source, the highest `fstore_seq` a read may see (inclusive). A read pinned so sees the
 * source as it was when that row was the newest committed one: later ingests, and the rows a
 * compaction merged from them, carry greater numbers (compaction keeps `fstore_seq`).
 */
export type SeqPins = ReadonlyMap<string, number>;

/** What the manifest says was committed of one source: its highest `fstore_seq` and its ingests. */
export interface CommittedSeq {
  /** 0 when nothing of the source is committed (a read pinned at 0 sees no row). */
  readonly maxSeq: number;
  readonly ingestIds: readonly string[];
}

/** Per source of `records`, in `sources` (all of them when absent), what is committed. */
export function committedSeqs(
  records: readonly IngestRecord[],
  sources?: readonly string[],
): Map<string, CommittedSeq> {
  const found = new Map<string, { maxSeq: number; ingestIds: string[] }>(
    (sources ?? []).map((source) => [source, { maxSeq: 0, ingestIds: [] }]),
  );
  for (const record of records) {
    if (sources && !sources.includes(record.source)) continue;
    const entry = found.get(record.source) ?? { maxSeq: 0, ingestIds: [] };
    entry.maxSeq = Math.max(entry.maxSeq, record.firstSeq + record.rows - 1);
    entry.ingestIds.push(record.ingestId);
    found.set(record.source, entry);
  }
  return found;
}

/** The SQL condition keeping the rows of `source` a pinned read sees, if it is pinned. */
export function seqPinCondition(pins: SeqPins | undefined, source: string): string | undefined {
  const pin = pins?.get(source);
  if (pin === undefined) return undefined;
  if (!Number.isSafeInteger(pin) || pin < 0)
    throw new RangeError(`the pinned fstore_seq of source "${source}" is not a whole number >= 0`);
  return `"fstore_seq" <= ${pin}`;
}

/** `relation` keeping only the rows a pin on `source` lets through (itself when unpinned). */
export function pinnedRelation(
  relation: string,
  pins: SeqPins | undefined,
  source: string,
): string {
  const condition = seqPinCondition(pins, source);
  return condition ? `(SELECT * FROM ${relation} WHERE ${condition})` : relation;
}
