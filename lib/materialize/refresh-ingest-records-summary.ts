import type { S3Client } from '@aws-sdk/client-s3';
import { inParallel } from '../bounded-pool.ts';
import type { ListedObject } from '../offline/s3-list-keys.ts';
import type { SummaryEntry } from './ingest-records-summary.ts';
import { defaultRecordReads } from './s3-ingest-log.ts';
import {
  listIngestRecordObjects,
  readIngestRecordEntry,
  readIngestRecordsSummary,
  writeIngestRecordsSummary,
} from './s3-ingest-records.ts';

/** Records read between two writes of the summary: what a stop between pages can lose. */
export const defaultSummaryPageRecords = 2_000;

/** Writes lost to another writer in a row before this step leaves the summary to it. */
const supersededWrites = 3;

export interface SummaryRefresh {
  /** True: the summary holds every record listed, or cannot be written (`summaryWrite`). */
  readonly done: boolean;
  readonly listed: number;
  /** Records read with a GetObject in this call. */
  readonly fetched: number;
  /** Records listed that the summary does not hold yet (0 when done and written). */
  readonly pending: number;
  /** The summary as this call found it: `used`, `absent`, or why it was refused. */
  readonly summary: string;
  readonly writes: number;
  /** `unchanged`, `written`, or why the last write did not land. */
  readonly summaryWrite: string;
}

/**
 * Brings a source's records summary (ingest-records-summary.ts) up to date, once per sharded
 * run before its shards fan out, so each shard GETs the summary and only the records committed
 * since, not every record (ADR 0022, "Tile bases"). Resumable: it reads the records the
 * summary lacks `pageRecords` at a time and writes the summary after each page, so a call
 * stopped (`shouldStop`, asked after each page) or killed loses at most one page; the next call
 * starts from the summary it finds. Each write is conditional on the summary it read; when
 * another writer's summary landed in between, its entries (those the listing still shows as
 * they are) join this call's and the write is tried again on it.
 */
export async function refreshIngestRecordsSummary(
  client: S3Client,
  bucket: string,
  source: string,
  options: {
    readonly pageRecords?: number;
    readonly reads?: number;
    readonly shouldStop?: () => boolean;
  } = {},
): Promise<SummaryRefresh> {
  const pageRecords = options.pageRecords ?? defaultSummaryPageRecords;
  const listed = await listIngestRecordObjects(client, bucket, source);
  const byKey = new Map(listed.map((object) => [object.key, object]));
  const known = new Map<string, SummaryEntry>();
  const keep = (entries: readonly SummaryEntry[]) => {
    for (const entry of entries) {
      const object = byKey.get(entry.key);
      if (object && object.etag === entry.etag && object.bytes === entry.bytes)
        known.set(entry.key, entry);
    }
  };
  let stored = await readIngestRecordsSummary(client, bucket, source);
  keep(stored.entries ?? []);
  const pending = () => listed.filter((object) => !known.has(object.key));
  const report = { listed: listed.length, summary: stored.state, fetched: 0, writes: 0 };
  // Entries of records changed or no longer listed: the summary needs writing even if no read.
  const stale = stored.entries?.length !== known.size;
  if (pending().length === 0 && !stale)
    return { ...report, done: true, pending: 0, summaryWrite: 'unchanged' };
  for (;;) {
    const page = pending().slice(0, pageRecords);
    await inParallel(page, options.reads ?? defaultRecordReads, async (object: ListedObject) => {
      known.set(object.key, await readIngestRecordEntry(client, bucket, object));
    });
    report.fetched += page.length;
    let written = await write();
    for (let lost = 1; written.state.startsWith('superseded') && lost < supersededWrites; lost++) {
      stored = await readIngestRecordsSummary(client, bucket, source);
      keep(stored.entries ?? []);
      written = await write();
    }
    const left = pending().length;
    if (written.state !== 'written')
      // Left to the shards (each then reads what the summary lacks) rather than looped on.
      return { ...report, done: true, pending: left, summaryWrite: written.state };
    if (left === 0 || options.shouldStop?.())
      return { ...report, done: left === 0, pending: left, summaryWrite: written.state };
  }

  async function write() {
    const entries = listed.flatMap((object) => known.get(object.key) ?? []);
    const written = await writeIngestRecordsSummary(client, bucket, source, entries, stored.etag);
    if (written.state === 'written') {
      report.writes++;
      stored = { ...stored, ...(written.etag ? { etag: written.etag } : {}) };
    }
    return written;
  }
}
