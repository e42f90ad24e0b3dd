import { z } from 'zod';
import type { IngestRecord } from './ingest-manifest.ts';

/**
 * Per source, the highest `fstore_seq` a read may see (inclusive). A read pinned so sees the
 * source as it was when that row was the newest committed one: later ingests, and the rows a
 * compaction merged from them, carry greater numbers (compaction keeps `fstore_seq`).
 */
export type SeqPins = ReadonlyMap<string, bigint>;

/**
 * A `fstore_seq` as JSON: a number while it is exact as one, else a decimal string. Sequence
 * numbers of S3 ingests start at the clock's milliseconds × 2^20 (clock-seq.ts), about 1.9e18,
 * past 2^53, where a JSON number would round to a neighbouring row's number.
 */
export type SeqJson = number | string;

export const seqJsonSchema = z.union([
  z
    .number()
    .int()
    .min(0)
    .refine(
      Number.isSafeInteger,
      'a whole number up to 2^53 - 1 (larger ones are written as strings)',
    ),
  z.string().regex(/^(0|[1-9][0-9]{0,18})$/, 'a whole number >= 0 written in decimal digits'),
]);

export function seqToJson(seq: bigint): SeqJson {
  return seq <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(seq) : seq.toString();
}

export function seqFromJson(seq: SeqJson): bigint {
  return BigInt(seq);
}

/** What the manifest says was committed of one source: its highest `fstore_seq` and its ingests. */
export interface CommittedSeq {
  /** 0 when nothing of the source is committed (a read pinned at 0 sees no row). */
  readonly maxSeq: bigint;
  readonly ingestIds: readonly string[];
}

/** Per source of `records`, in `sources` (all of them when absent), what is committed. */
export function committedSeqs(
  records: readonly IngestRecord[],
  sources?: readonly string[],
): Map<string, CommittedSeq> {
  const found = new Map<string, { maxSeq: bigint; ingestIds: string[] }>(
    (sources ?? []).map((source) => [source, { maxSeq: 0n, ingestIds: [] }]),
  );
  for (const record of records) {
    if (sources && !sources.includes(record.source)) continue;
    const entry = found.get(record.source) ?? { maxSeq: 0n, ingestIds: [] };
    // In bigint: past 2^53 (S3 ingests' clock numbers) a double sum rounds to another row's seq.
    const last = BigInt(record.firstSeq) + BigInt(record.rows) - 1n;
    if (last > entry.maxSeq) entry.maxSeq = last;
    entry.ingestIds.push(record.ingestId);
    found.set(record.source, entry);
  }
  return found;
}

/** The SQL condition keeping the rows of `source` a pinned read sees, if it is pinned. */
export function seqPinCondition(pins: SeqPins | undefined, source: string): string | undefined {
  const pin = pins?.get(source);
  if (pin === undefined) return undefined;
  if (typeof pin !== 'bigint' || pin < 0n || pin >= 2n ** 63n)
    throw new RangeError(`the pinned fstore_seq of source "${source}" is not a BIGINT >= 0`);
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
