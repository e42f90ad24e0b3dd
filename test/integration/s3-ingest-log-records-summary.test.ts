import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  coverageAfter,
  type IngestCoverage,
  newIngestRows,
  uncoveredIngests,
} from '../../lib/materialize/ingest-coverage.ts';
import { refreshIngestRecordsSummary } from '../../lib/materialize/refresh-ingest-records-summary.ts';
import { s3IngestLog } from '../../lib/materialize/s3-ingest-log.ts';
import { readIngestRecordsSummary } from '../../lib/materialize/s3-ingest-records.ts';
import type { IngestRecord } from '../../lib/offline/ingest-manifest.ts';
import { ingestRecordKey } from '../../lib/offline/ingest-records.ts';
import {
  type MemoryBucket,
  memoryBucketClient,
  startMemoryBucket,
} from '../helpers/s3-memory-bucket.ts';

const minute = 60_000 * 1_048_576;
const startMs = Date.parse('2026-01-01T00:00:00Z');
const count = 300;

/**
 * The `i`-th ingest of payments: most name files in one or two partitions, some none (an older
 * writer's record) or one outside a partition, so their coverage has no partitions.
 */
function record(i: number, rows = 3): IngestRecord {
  const id = `20260101t000000-${i.toString(16).padStart(8, '0')}`;
  const day = (d: number) =>
    `offline/payments/dt=2026-01-${String(d).padStart(2, '0')}/${id}.parquet`;
  const files =
    i % 7 === 0
      ? undefined
      : i % 11 === 0
        ? [day(1), `offline/payments/${id}.parquet`]
        : i % 3 === 0
          ? [day(1 + (i % 28)), day(2 + (i % 27))]
          : [day(1 + (i % 28))];
  return {
    ingestId: id,
    source: 'payments',
    file: `s3://fstore-offline/push/payments/${i}.jsonl`,
    sha256: i.toString(16).padStart(64, '0'),
    rows,
    firstSeq: startMs * 1_048_576 + i * minute,
    at: '2026-01-01T00:00:00Z',
    ...(files ? { files } : {}),
  };
}

const keyOf = (i: number) => ingestRecordKey('payments', record(i).sha256, record(i).ingestId);

describe('the ingest coverage of a run read from the records summary (ADR 0022, "Records summary")', () => {
  let bucket: MemoryBucket;
  const client = () => memoryBucketClient(bucket);
  const put = (i: number, value: unknown, committedAtMs: number, key = keyOf(i)) => {
    bucket.objects.set(key, Buffer.from(`${JSON.stringify(value)}\n`));
    bucket.modified.set(key, new Date(committedAtMs));
  };
  const summary = async (source: string) =>
    (await readIngestRecordsSummary(client(), bucket.name, source)).entries;
  /** The log as every run read it before (each record a GET), and the one reading the summary. */
  const fullRead = () => s3IngestLog(client(), bucket.name);
  const fromSummary = () => s3IngestLog(client(), bucket.name, { summary });
  const recordGets = () =>
    bucket.requests.filter((request) => request.startsWith('GET offline/_ingests/')).length;

  beforeAll(async () => {
    bucket = await startMemoryBucket('fstore-offline', { pageSize: 100 });
  });
  afterAll(() => bucket.close());
  beforeEach(() => {
    bucket.objects.clear();
    bucket.modified.clear();
    bucket.requests.length = 0;
    // One a minute, the last ones within the settle period of the newest.
    for (let i = 0; i < count; i++) put(i, record(i), startMs + i * 60_000);
    // A compaction's record placed outside compactions/: committed rows, no ingest of its own.
    put(
      count,
      {
        kind: 'compaction',
        ingestId: 'compaction-1',
        source: 'payments',
        files: [],
        replaces: [],
      },
      startMs,
      'offline/_ingests/payments/compaction-outside.json',
    );
  });

  it('gives a first run the same ingests as reading every record, with no record GET once the summary holds them all', async () => {
    await refreshIngestRecordsSummary(client(), bucket.name, 'payments');
    bucket.requests.length = 0;
    const summarised = await fromSummary().committedIngests('payments');
    expect(recordGets()).toBe(0);
    expect(bucket.requests.filter((r) => r.startsWith('GET tile-base-records/'))).toHaveLength(1);
    const read = await fullRead().committedIngests('payments');
    expect(recordGets()).toBe(count + 1);
    expect(summarised).toEqual(read);
    expect(read?.filter((ingest) => ingest.days === undefined).length).toBeGreaterThan(40);
    expect(coverageAfter(undefined, summarised ?? [])).toEqual(
      coverageAfter(undefined, read ?? []),
    );
  });

  it('reads only the records committed or rewritten after the summary, and the coverage and new rows equal a full read’s', async () => {
    await refreshIngestRecordsSummary(client(), bucket.name, 'payments');
    // Written after the summary: a new ingest, and a record rewritten (its ETag changed).
    put(count + 1, record(count + 1), startMs + (count + 1) * 60_000);
    put(5, record(5, 4), startMs + 5 * 60_000);
    bucket.requests.length = 0;
    // A run whose state settles the first hundred ingests: 200 and more to read.
    const known: IngestCoverage = { settledBeforeMs: startMs + 100 * 60_000, ingestIds: [] };
    for (const covered of [undefined, known]) {
      bucket.requests.length = 0;
      const summarised = await fromSummary().committedIngests('payments', covered);
      expect(bucket.requests.filter((r) => r.startsWith('GET offline/_ingests/')).sort()).toEqual(
        [...(covered ? [] : [keyOf(5)]), keyOf(count + 1)].map((key) => `GET ${key}`).sort(),
      );
      const read = (await fullRead().committedIngests('payments', covered)) ?? [];
      expect(summarised).toEqual(read);
      expect(coverageAfter(covered, summarised ?? [])).toEqual(coverageAfter(covered, read));
      if (covered)
        expect(newIngestRows(uncoveredIngests(covered, summarised ?? []))).toEqual(
          newIngestRows(uncoveredIngests(covered, read)),
        );
    }
    const rewritten = (await fromSummary().committedIngests('payments'))?.find(
      (ingest) => ingest.ingestId === record(5).ingestId,
    );
    expect(rewritten?.rows).toBe(4);
  });

  it('reads the records themselves when the summary is absent, and does not ask for it when one round of GETs reads all the run needs', async () => {
    // Absent.
    expect(await fromSummary().committedIngests('payments')).toHaveLength(count);
    expect(recordGets()).toBe(count + 1);
    // A run with no more records to read than one round of GETs does not ask for the summary.
    await refreshIngestRecordsSummary(client(), bucket.name, 'payments');
    bucket.requests.length = 0;
    const recent = { settledBeforeMs: startMs + (count - 10) * 60_000, ingestIds: [] };
    await fromSummary().committedIngests('payments', recent);
    expect(bucket.requests.filter((r) => r.startsWith('GET tile-base-records/'))).toEqual([]);
    expect(recordGets()).toBe(10);
  });

  it('fails as a full read does on a damaged record written after the summary', async () => {
    await refreshIngestRecordsSummary(client(), bucket.name, 'payments');
    bucket.objects.set(keyOf(count + 2), Buffer.from('{not json'));
    await expect(fromSummary().committedIngests('payments')).rejects.toThrow(
      `the ingest record s3://fstore-offline/${keyOf(count + 2)} is not JSON`,
    );
  });
});
