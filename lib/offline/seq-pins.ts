import { z } from 'zod';
import type { IngestRecord } from './ingest-manifest.ts';

/**
 * Per source, the highest `fstore_seq` a read may see (inclusive). A read pinned so sees the
 * source as it was when that row was the newest committed one: later ingests, and the rows a
 * compaction merged from them, carry greater numbers (compaction keeps `fstore_seq`).
 */
export type SeqPins = ReadonlyMap<string, SeqPin>;

/**
 * One source's pin: the highest `fstore_seq` a read sees, and, when exact, the seq ranges at or
 * below it of ingests that committed after the pin was made (S3 ingests number rows by the clock
 * when they start and take no lock, so one that started before another may commit after it, with
 * lower numbers): a read as of the pin leaves them out, as it did before they committed.
 */
export type SeqPin = bigint | { readonly through: bigint; readonly excluded: readonly SeqRange[] };

/** `fstore_seq` from `first` to `last`, both included. */
export interface SeqRange {
  readonly first: bigint;
  readonly last: bigint;
}

/** The highest `fstore_seq` a pin lets through. */
export function pinThrough(pin: SeqPin): bigint {
  return typeof pin === 'bigint' ? pin : pin.through;
}

/** What a manifest or snapshot records of one source: its pin and the ingests committed then. */
export interface RecordedPin {
  readonly maxSeq: SeqJson;
  readonly ingestIds: readonly string[];
}

/**
 * Exact pins of what was recorded (a snapshot's or a manifest's `sources`), given the ingest
 * records committed now: an ingest of a pinned source that the record does not name, with rows
 * at or below the pin, committed after the pin was made, so its rows are excluded.
 */
export function exactPins(
  recorded: Readonly<Record<string, RecordedPin>>,
  records: readonly Pick<IngestRecord, 'source' | 'ingestId' | 'firstSeq' | 'rows'>[],
): Map<string, SeqPin> {
  const pins = new Map<string, SeqPin>();
  for (const [source, pinned] of Object.entries(recorded)) {
    const through = seqFromJson(pinned.maxSeq);
    const known = new Set(pinned.ingestIds);
    const ranges = (named: boolean) =>
      records
        .filter((r) => r.source === source && known.has(r.ingestId) === named && r.rows > 0)
        .map((r) => ({ first: BigInt(r.firstSeq), last: BigInt(r.firstSeq) + BigInt(r.rows) - 1n }))
        .filter((range) => range.first <= through);
    // Clock numbers can overlap (an ingest of more than 2^20 rows, or two started in one ms):
    // numbers a named ingest holds stay readable, so its rows are never left out.
    const excluded = subtractRanges(sortRanges(ranges(false)), ranges(true));
    pins.set(source, excluded.length > 0 ? { through, excluded } : through);
  }
  return pins;
}

function sortRanges(ranges: SeqRange[]): SeqRange[] {
  return ranges.sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
}

/** The numbers of `from` that no range of `minus` holds, as sorted ranges. */
function subtractRanges(from: readonly SeqRange[], minus: readonly SeqRange[]): SeqRange[] {
  let pieces = [...from];
  for (const cut of minus) {
    pieces = pieces.flatMap((piece) => {
      if (cut.last < piece.first || cut.first > piece.last) return [piece];
      const left = cut.first > piece.first ? [{ first: piece.first, last: cut.first - 1n }] : [];
      const right = cut.last < piece.last ? [{ first: cut.last + 1n, last: piece.last }] : [];
      return [...left, ...right];
    });
  }
  return sortRanges(pieces);
}

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
  const through = pinThrough(pin);
  const bigintSeq = (seq: unknown) => typeof seq === 'bigint' && seq >= 0n && seq < 2n ** 63n;
  const excluded = typeof pin === 'bigint' ? [] : pin.excluded;
  if (!bigintSeq(through) || !excluded.every((r) => bigintSeq(r.first) && bigintSeq(r.last)))
    throw new RangeError(`the pinned fstore_seq of source "${source}" is not a BIGINT >= 0`);
  return [
    `"fstore_seq" <= ${through}`,
    ...excluded.map((r) => `"fstore_seq" NOT BETWEEN ${r.first} AND ${r.last}`),
  ].join(' AND ');
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
