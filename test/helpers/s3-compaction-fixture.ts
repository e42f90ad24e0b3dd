import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll } from 'vitest';
import { type DuckdbSession, openDuckdb } from '../../lib/offline/duckdb-session.ts';
import { ingestRecordKey } from '../../lib/offline/ingest-records.ts';
import {
  compactS3Source,
  type S3CompactionResult,
  type S3CompactOptions,
} from '../../lib/offline/s3-compact.ts';
import { readThroughAthenaRelation } from './athena-relation-on-duckdb.ts';
import { type CliResult, makeTempDir, runFstore } from './run-fstore.ts';
import { type MemoryBucket, memoryBucketClient, startMemoryBucket } from './s3-memory-bucket.ts';

/**
 * What a test of S3 compaction of the source `orders` (environment `dev`) works with: the
 * loopback bucket `offline-bucket` in memory, an S3 client of it, a DuckDB session that writes
 * the Parquet objects, and a scratch folder for them.
 */
export interface S3CompactionFixture {
  readonly bucket: MemoryBucket;
  readonly s3: S3Client;
  readonly duckdb: DuckdbSession;
  readonly scratch: string;
  /** Parquet of `orders` rows as an ingest commits them: customer_id C<seq % 3>, amount <seq>.5. */
  committedParquet(seqs: readonly number[]): Promise<Buffer>;
  /**
   * Puts committed ingest `id`: its data objects (key and the `fstore_seq` of its rows), then its
   * record (`offline/_ingests/orders/<n × 64>/<id>.json`), as `fstore ingest --env` leaves them.
   */
  commitIngest(
    n: number,
    id: string,
    objects: readonly (readonly [key: string, seqs: readonly number[]])[],
  ): Promise<void>;
  /**
   * Puts three committed ingests (ids `threeIngestIds`), each with an object in dt=2026-03-01
   * (seqs 10n+1, 10n+2) and one in dt=2026-03-02 (seq 10n+3): 9 rows in 6 objects.
   */
  commitThreeIngests(): Promise<void>;
  /** Parquet of `orders` rows as the push stream's conversion stages them (staging columns). */
  stagedParquet(rows: readonly StagedOrder[]): Promise<Buffer>;
  /** The rows of `orders` fstore's Athena queries read (run on DuckDB), each with its object. */
  readable(): Promise<Record<string, unknown>[]>;
  /** compactS3Source of `orders` against the bucket: 1 MiB target, replaced objects kept 1 h. */
  compactInProcess(extra?: Partial<S3CompactOptions>): Promise<S3CompactionResult>;
  /** `fstore --env dev compact --source orders --bucket <bucket> ...extra` against the bucket. */
  compact(extra?: readonly string[], env?: Record<string, string>): Promise<CliResult>;
}

/** One pushed row of `orders`; event_ts 2026-03-01T12:00:00.123456Z, customer C1, category books. */
export interface StagedOrder {
  readonly orderId: string;
  readonly pushId: string;
  readonly row: number;
  readonly amount: number;
  /** created_ts: the event time, or NULL when false. */
  readonly created: boolean;
}

export const threeIngestIds = [
  '20260101t000000-0a1b2c3d',
  '20260102t000000-1b2c3d4e',
  '20260103t000000-2c3d4e5f',
] as const;

/** The key of ingest `id`'s first object in partition `dt` of `orders`. */
export const ordersDataKey = (dt: string, id: string) => `offline/orders/dt=${dt}/${id}-0.parquet`;

// 2026-03-01T12:00:00.123456Z as Firehose stores it: epoch microseconds.
const stagedEventTs = '1772366400123456';

/**
 * Opens the fixture before the file's tests (the bucket listing `pageSize` keys a page) and
 * closes it after; its members are read inside tests and hooks, not at the file's top level.
 */
export function useS3CompactionFixture(
  scratchName: string,
  options: { readonly pageSize?: number; readonly versioned?: boolean } = {},
): S3CompactionFixture {
  let opened: { bucket: MemoryBucket; s3: S3Client; duckdb: DuckdbSession; scratch: string };
  beforeAll(async () => {
    const bucket = await startMemoryBucket('offline-bucket', options);
    opened = {
      bucket,
      s3: memoryBucketClient(bucket),
      duckdb: await openDuckdb(),
      scratch: await makeTempDir(scratchName),
    };
  });
  afterAll(async () => {
    opened.duckdb.close();
    await opened.bucket.close();
  });

  async function writeParquet(select: string): Promise<Buffer> {
    const file = path.join(opened.scratch, `p-${Math.random().toString(16).slice(2)}.parquet`);
    await opened.duckdb.connection.run(`COPY (${select}) TO '${file}' (FORMAT parquet)`);
    return readFile(file);
  }

  const fixture: S3CompactionFixture = {
    get bucket() {
      return opened.bucket;
    },
    get s3() {
      return opened.s3;
    },
    get duckdb() {
      return opened.duckdb;
    },
    get scratch() {
      return opened.scratch;
    },
    committedParquet: (seqs) =>
      writeParquet(
        `SELECT * FROM (VALUES ${seqs.map((s) => `('C${s % 3}', ${s}.5::DOUBLE, ${s}::BIGINT)`).join(', ')}) t(customer_id, amount, fstore_seq)`,
      ),
    async commitIngest(n, id, objects) {
      for (const [key, seqs] of objects)
        opened.bucket.objects.set(key, await fixture.committedParquet(seqs));
      const seqs = objects.flatMap(([, s]) => s);
      const record = {
        ingestId: id,
        source: 'orders',
        sha256: String(n).repeat(64),
        file: 'x.csv',
        rows: seqs.length,
        firstSeq: Math.min(...seqs),
        at: '2026-03-01T00:00:00Z',
        files: objects.map(([key]) => key),
      };
      opened.bucket.objects.set(
        ingestRecordKey('orders', record.sha256, id),
        Buffer.from(`${JSON.stringify(record)}\n`),
      );
    },
    async commitThreeIngests() {
      for (const [n, id] of threeIngestIds.entries())
        await fixture.commitIngest(n, id, [
          [ordersDataKey('2026-03-01', id), [n * 10 + 1, n * 10 + 2]],
          [ordersDataKey('2026-03-02', id), [n * 10 + 3]],
        ]);
    },
    stagedParquet: (rows) =>
      writeParquet(
        `SELECT * FROM (VALUES ${rows
          .map(
            (r) =>
              `('${r.orderId}', 'C1', ${r.amount}::DOUBLE, 'books', ${stagedEventTs}::BIGINT, ${r.created ? stagedEventTs : 'NULL'}::BIGINT, '${r.pushId}', ${r.row}::INTEGER, NULL::VARCHAR)`,
          )
          .join(
            ', ',
          )}) v(order_id, customer_id, amount, category, event_ts, created_ts, fstore_push_id, fstore_push_row, fstore_idempotency_key)`,
      ),
    readable: () =>
      readThroughAthenaRelation(opened.duckdb.connection, {
        objects: opened.bucket.objects,
        bucket: opened.bucket.name,
        source: 'orders',
        scratch: opened.scratch,
      }),
    compactInProcess: (extra = {}) =>
      compactS3Source({
        s3: opened.s3,
        bucket: opened.bucket.name,
        region: 'eu-west-1',
        source: 'orders',
        prefix: 'offline/orders/',
        targetBytes: 1024 * 1024,
        keepReplacedMs: 3_600_000,
        ...extra,
      }),
    compact: (extra = [], env = {}) =>
      runFstore(
        ['--env', 'dev', 'compact', '--source', 'orders', '--bucket', opened.bucket.name, ...extra],
        { env: { ...opened.bucket.env, ...env } },
      ),
  };
  return fixture;
}
