import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clockSeq } from '../../lib/offline/clock-seq.ts';
import { type DuckdbSession, openDuckdb, queryRows } from '../../lib/offline/duckdb-session.ts';
import { ingestFile } from '../../lib/offline/ingest.ts';
import type { IngestRecord } from '../../lib/offline/ingest-manifest.ts';
import { S3IngestTarget } from '../../lib/offline/s3-ingest-target.ts';
import { paymentRow, pushRegistry } from '../helpers/push-registry.ts';
import { makeTempDir } from '../helpers/run-fstore.ts';
import {
  type MemoryBucket,
  memoryBucketClient,
  startMemoryBucket,
} from '../helpers/s3-memory-bucket.ts';

let bucket: MemoryBucket;
let duckdb: DuckdbSession;
beforeAll(async () => {
  bucket = await startMemoryBucket('fstore-offline');
  duckdb = await openDuckdb();
});
afterAll(async () => {
  duckdb.close();
  await bucket.close();
});

describe('an S3 ingest numbers its rows from the clock (ms × 2^20)', () => {
  it('stores exactly the fstore_seq its commit record names, past 2^53 where the number prints rounded', async () => {
    // ms × 2^20 is exact as a double, but its shortest decimal text is not the integer.
    const ms = 1_771_034_734_017;
    expect(String(clockSeq(ms))).not.toBe(BigInt(clockSeq(ms)).toString());
    const scratch = await makeTempDir('s3-ingest-clock-seq');
    const file = path.join(scratch, 'rows.jsonl');
    const rows = ['C1', 'C2', 'C3'].map((c) =>
      JSON.stringify(paymentRow('2026-02-14T02:07:00Z', { customer_id: c })),
    );
    await writeFile(file, `${rows.join('\n')}\n`);
    await ingestFile({
      registry: pushRegistry(),
      dataDir: scratch,
      env: 'aws',
      source: 'payments',
      file,
      target: new S3IngestTarget(memoryBucketClient(bucket), bucket.name, () => ms),
    });
    const [recordKey] = [...bucket.objects.keys()].filter((k) => k.includes('_ingests/payments/'));
    const record = JSON.parse(
      bucket.objects.get(recordKey ?? '')?.toString() ?? '{}',
    ) as IngestRecord;
    const parquet = path.join(scratch, 'committed.parquet');
    await writeFile(parquet, bucket.objects.get(record.files?.[0] ?? '') ?? Buffer.alloc(0));
    const stored = await queryRows(
      duckdb.connection,
      `SELECT CAST(fstore_seq AS VARCHAR) AS seq FROM read_parquet('${parquet}') ORDER BY fstore_seq`,
    );
    const first = BigInt(record.firstSeq);
    expect(first).toBe(BigInt(clockSeq(ms)));
    expect(stored.map((r) => r.seq)).toEqual([0n, 1n, 2n].map((i) => (first + i).toString()));
  });
});
