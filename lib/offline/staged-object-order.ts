/** A staged object as S3 lists it. */
export interface StagedObject {
  readonly key: string;
  readonly modified?: Date;
  /** Bytes, from the listing. */
  readonly size?: number;
  /** ETag, from the listing: tells bytes written again under the key from those read before. */
  readonly etag?: string;
}

// Firehose names objects `<stream>-<DeliveryStreamVersion>-YYYY-MM-DD-HH-MM-SS-<random>` (UTC).
// The leftmost match: stream names (`fstore-<env>-push-<source>`) hold no run of such numbers.
const firehoseName = /-(\d+)-(\d{4})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-/;

/** The arrival time and stream version Firehose wrote in the object's name, if it parses. */
export function firehoseNameTime(key: string): { ms: number; version: number } | undefined {
  const name = key.slice(key.lastIndexOf('/') + 1);
  const m = firehoseName.exec(name);
  if (!m) return undefined;
  const [, version, y, mo, d, h, mi, s] = m.map(Number) as number[];
  const ms = Date.UTC(y ?? 0, (mo ?? 1) - 1, d ?? 1, h ?? 0, mi ?? 0, s ?? 0);
  return Number.isNaN(ms) ? undefined : { ms, version: version ?? 0 };
}

/**
 * Staged objects in arrival order: by the time in the name, then the stream version as a
 * number, then the key. Text order is wrong past version 9 (`-10-` sorts before `-9-`). A name
 * that does not parse uses its S3 LastModified as its time.
 */
export function inArrivalOrder<T extends StagedObject>(objects: readonly T[]): T[] {
  const keyed = objects.map((o) => {
    const named = firehoseNameTime(o.key);
    return {
      o,
      ms: named?.ms ?? o.modified?.getTime() ?? 0,
      version: named?.version ?? -1,
    };
  });
  keyed.sort(
    (a, b) =>
      a.ms - b.ms || a.version - b.version || (a.o.key < b.o.key ? -1 : a.o.key > b.o.key ? 1 : 0),
  );
  return keyed.map((k) => k.o);
}

/**
 * The time a ledger may be dropped before: a day (keepMs) before the oldest staged object still
 * waiting, both S3 LastModified times (one clock). Undefined when an object has no time: keep all.
 */
export function ledgerExpiryBefore(
  staged: readonly StagedObject[],
  keepMs: number,
): number | undefined {
  let oldest = Number.POSITIVE_INFINITY;
  for (const o of staged) {
    if (!o.modified) return undefined;
    oldest = Math.min(oldest, o.modified.getTime());
  }
  return Number.isFinite(oldest) ? oldest - keepMs : undefined;
}
