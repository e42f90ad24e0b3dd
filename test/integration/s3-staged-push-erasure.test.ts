import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eraseStagedPushRows } from '../../lib/erasure/s3-staged-push-erasure.ts';
import { type DuckdbSession, openDuckdb, queryRows } from '../../lib/offline/duckdb-session.ts';
import { ingestS3PushStaging } from '../../lib/offline/s3-push-ingest.ts';
import { pushRegistry } from '../helpers/push-registry.ts';
import { makeTempDir } from '../helpers/run-fstore.ts';
import {
  type MemoryBucket,
  memoryBucketClient,
  startMemoryBucket,
} from '../helpers/s3-memory-bucket.ts';

const registry = pushRegistry();
const payments = registry.sources.find((s) => s.name === 'payments');
let bucket: MemoryBucket;
let s3: S3Client;
let duckdb: DuckdbSession;
let scratch: string;
beforeAll(async () => {
  bucket = await startMemoryBucket('offline-bucket', { versioned: true });
  s3 = memoryBucketClient(bucket);
  duckdb = await openDuckdb();
  scratch = await makeTempDir('s3-staged-push-erasure');
});
afterAll(async () => {
  duckdb.close();
  await bucket.close();
});
beforeEach(() => {
  bucket.objects.clear();
  bucket.noncurrent.clear();
});

const t0 = 1772366400123456n;
let fileNumber = 0;

/** A Parquet object as Firehose writes it against fstore_push_payments, in the staging prefix. */
async function stage(
  name: string,
  rows: { pushId: string; row: number; customer: string }[],
): Promise<string> {
  const local = path.join(scratch, `staged-${fileNumber++}.parquet`);
  const values = rows
    .map(
      (r) =>
        `('${r.customer}', 7::BIGINT, 12.5::DOUBLE, 'ok', false, [0.5, 1]::FLOAT[], ${t0}::BIGINT, ${t0}::BIGINT, '${r.pushId}', ${r.row}::INTEGER, NULL::VARCHAR)`,
    )
    .join(', ');
  await duckdb.connection.run(
    `COPY (SELECT * FROM (VALUES ${values}) v(customer_id, account_id, amount, status, flagged, scores, event_ts, created_ts, fstore_push_id, fstore_push_row, fstore_idempotency_key)) TO '${local}' (FORMAT parquet)`,
  );
  const key = `offline/_push/payments/arrived=2026-03-01/${name}.parquet`;
  bucket.objects.set(key, await readFile(local));
  return key;
}

/** The committed rows of payments: the objects the ingest records name. */
async function committedRows(): Promise<Record<string, unknown>[]> {
  const records = [...bucket.objects.keys()]
    .filter((k) => k.startsWith('offline/_ingests/payments/'))
    .map((k) => JSON.parse(bucket.objects.get(k)?.toString('utf8') ?? '{}') as { files: string[] });
  const files: string[] = [];
  for (const key of records.flatMap((r) => r.files)) {
    const local = path.join(scratch, `committed-${fileNumber++}.parquet`);
    await writeFile(local, bucket.objects.get(key) ?? Buffer.alloc(0));
    files.push(local);
  }
  if (files.length === 0) return [];
  return queryRows(
    duckdb.connection,
    `SELECT customer_id, fstore_seq FROM read_parquet([${files.map((f) => `'${f}'`).join(', ')}]) ORDER BY fstore_seq`,
  );
}

describe('staged pushed rows erased before the push ingest folds them', () => {
  it('the push ingest folds the objects written again without the key: the other rows once, in arrival order, an emptied object too, nothing set aside', async () => {
    if (!payments) throw new Error('pushRegistry has no payments');
    await stage('fstore-dev-push-payments-1-2026-03-01-12-00-00-a', [
      { pushId: 'p1', row: 0, customer: 'C2' },
      { pushId: 'p1', row: 1, customer: 'C1' },
      { pushId: 'p1', row: 2, customer: 'C3' },
    ]);
    await stage('fstore-dev-push-payments-1-2026-03-01-12-01-00-b', [
      { pushId: 'p2', row: 0, customer: 'C1' },
    ]);
    const erased = await eraseStagedPushRows({
      s3,
      bucket: bucket.name,
      source: payments,
      keys: [{ key: 'customer_id', type: 'string', value: 'C1' }],
      dryRun: false,
      workDir: scratch,
      backoffMs: 0,
    });
    expect(erased).toEqual({
      source: 'payments',
      rows: 2,
      errorRecords: 0,
      objects: 2,
      versionsDeleted: 2,
    });

    const folded = await ingestS3PushStaging({
      s3,
      bucket: bucket.name,
      registry,
      source: 'payments',
      workDir: scratch,
    });
    expect(folded).toMatchObject({ objects: 2, rows: 2, duplicates: 0 });
    expect(folded.refused).toBeUndefined();
    expect((await committedRows()).map((r) => r.customer_id)).toEqual(['C2', 'C3']);
    expect(
      [...bucket.objects.keys()].filter((k) => k.startsWith('offline/_push/payments/arrived=')),
    ).toEqual([]);
  });
});
