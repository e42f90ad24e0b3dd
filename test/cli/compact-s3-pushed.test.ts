import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DuckdbSession, openDuckdb, queryRows } from '../../lib/offline/duckdb-session.ts';
import { makeTempDir, runFstore } from '../helpers/run-fstore.ts';
import { type MemoryBucket, startMemoryBucket } from '../helpers/s3-memory-bucket.ts';

let bucket: MemoryBucket;
let duckdb: DuckdbSession;
let scratch: string;
beforeAll(async () => {
  bucket = await startMemoryBucket('offline-bucket');
  duckdb = await openDuckdb();
  scratch = await makeTempDir('compact-s3-pushed');
});
afterAll(async () => {
  duckdb.close();
  await bucket.close();
});

/** An object as the orders stream's conversion writes it (staging table columns; microsecond times). */
async function staged(rows: [order: string, pushId: string, row: number][]): Promise<Buffer> {
  const file = path.join(scratch, `s-${Math.random().toString(16).slice(2)}.parquet`);
  const values = rows
    .map(
      ([order, pushId, row]) =>
        `('${order}', 'C1', 10.25::DOUBLE, 'books', 1772366400123456::BIGINT, 1772366400123456::BIGINT, '${pushId}', ${row}::INTEGER, NULL::VARCHAR)`,
    )
    .join(', ');
  await duckdb.connection.run(
    `COPY (SELECT * FROM (VALUES ${values}) v(order_id, customer_id, amount, category, event_ts, created_ts, fstore_push_id, fstore_push_row, fstore_idempotency_key)) TO '${file}' (FORMAT parquet)`,
  );
  return readFile(file);
}

describe('fstore compact --env <aws> with pushed rows Firehose staged (loopback bucket)', () => {
  it('commits them as an ingest of the source before merging, each (push id, row) once, and says so', async () => {
    const prefix = 'offline/_push/orders/arrived=2026-03-01/';
    bucket.objects.set(
      `${prefix}fstore-dev-push-orders-1-2026-03-01-12-00-00-a.parquet`,
      await staged([
        ['O1', 'p1', 0],
        ['O2', 'p1', 1],
      ]),
    );
    bucket.objects.set(
      `${prefix}fstore-dev-push-orders-1-2026-03-01-12-01-00-b.parquet`,
      await staged([['O2', 'p1', 1]]),
    );
    const result = await runFstore(
      ['--env', 'dev', 'compact', '--source', 'orders', '--bucket', bucket.name, '--json'],
      { env: bucket.env },
    );
    expect(result.code, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout);
    expect(out.sources[0].pushed).toMatchObject({ objects: 2, rows: 2, duplicates: 1 });
    const records = [...bucket.objects.keys()].filter(
      (k) => k.startsWith('offline/_ingests/orders/') && !k.includes('/compactions/'),
    );
    expect(records).toHaveLength(1);
    const record = JSON.parse(bucket.objects.get(records[0] ?? '')?.toString('utf8') ?? '{}') as {
      files: string[];
    };
    const local = path.join(scratch, 'committed.parquet');
    await writeFile(local, bucket.objects.get(record.files[0] ?? '') ?? Buffer.alloc(0));
    const rows = await queryRows(
      duckdb.connection,
      `SELECT order_id, strftime(event_ts, '%Y-%m-%d %H:%M:%S.%f') AS at FROM read_parquet('${local}') ORDER BY fstore_seq`,
    );
    expect(rows).toEqual([
      { order_id: 'O1', at: '2026-03-01 12:00:00.123456' },
      { order_id: 'O2', at: '2026-03-01 12:00:00.123456' },
    ]);
    expect(record.files[0]).toMatch(/^offline\/orders\/dt=2026-03-01\//);
    expect(
      [...bucket.objects.keys()].filter((k) => k.startsWith('offline/_push/orders/arrived=')),
    ).toEqual([]);
  });
});
