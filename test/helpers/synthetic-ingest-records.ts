import type { IngestRecord } from '../../lib/offline/ingest-manifest.ts';
import { ingestRecordKey } from '../../lib/offline/ingest-records.ts';

const minute = 60_000 * 1_048_576;
const startMs = Date.parse('2026-01-01T00:00:00Z');

/**
 * The commit record of the `i`-th ingest of payments in a source pushed to once a minute from
 * 2026-01-01 (S3 clock sequences): a tiled push batch of 120 rows, every `batchEvery`-th a batch
 * ingest (no tiled rows). What the measuring scripts put on the loopback S3.
 */
export function syntheticIngestRecord(i: number, batchEvery: number): IngestRecord {
  const id = `20260101t000000-${i.toString(16).padStart(8, '0')}`;
  return {
    ingestId: id,
    source: 'payments',
    file: `s3://fstore-offline/offline/_push-staging/payments/${id}.jsonl`,
    sha256: i.toString(16).padStart(64, 'a'),
    rows: 120,
    firstSeq: startMs * 1_048_576 + i * minute,
    at: new Date(startMs + i * 60_000).toISOString(),
    files: [`offline/payments/dt=2026-01-01/${id}-0.parquet`],
    ...(i % batchEvery === 0 ? {} : { pushTiledRows: [[0, 120]] as [number, number][] }),
  };
}

/** Puts the records `from` to `to` (excluded) at their S3 keys in `objects`. */
export function putSyntheticIngestRecords(
  objects: Map<string, Buffer>,
  from: number,
  to: number,
  batchEvery: number,
): void {
  for (let i = from; i < to; i++) {
    const r = syntheticIngestRecord(i, batchEvery);
    objects.set(
      ingestRecordKey('payments', r.sha256, r.ingestId),
      Buffer.from(`${JSON.stringify(r)}\n`),
    );
  }
}
