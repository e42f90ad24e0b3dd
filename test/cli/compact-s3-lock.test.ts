import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DuckdbSession, openDuckdb } from '../../lib/offline/duckdb-session.ts';
import { ingestRecordKey } from '../../lib/offline/ingest-records.ts';
import { compactionLockKey } from '../../lib/offline/s3-compact-record.ts';
import { makeTempDir, runFstore } from '../helpers/run-fstore.ts';
import { type MemoryBucket, startMemoryBucket } from '../helpers/s3-memory-bucket.ts';

let bucket: MemoryBucket;
let duckdb: DuckdbSession;
let scratch: string;
beforeAll(async () => {
  bucket = await startMemoryBucket('offline-bucket');
  duckdb = await openDuckdb();
  scratch = await makeTempDir('compact-s3-lock');
});
afterAll(async () => {
  duckdb.close();
  await bucket.close();
});

const ids = ['20260101t000000-0a1b2c3d', '20260102t000000-1b2c3d4e'];

async function parquet(seqs: number[]): Promise<Buffer> {
  const file = path.join(scratch, `p-${Math.random().toString(16).slice(2)}.parquet`);
  await duckdb.connection.run(
    `COPY (SELECT * FROM (VALUES ${seqs.map((s) => `('C${s % 3}', ${s}.5::DOUBLE, ${s}::BIGINT)`).join(', ')}) t(customer_id, amount, fstore_seq)) TO '${file}' (FORMAT parquet)`,
  );
  return readFile(file);
}

const compact = () =>
  runFstore(['--env', 'dev', 'compact', '--source', 'orders', '--bucket', bucket.name, '--json'], {
    env: bucket.env,
  });

describe('two fstore compact --env <aws> processes of one source at once (loopback bucket)', () => {
  it('exactly one compacts; the other exits 1 naming the holder, having uploaded nothing', async () => {
    for (const [i, id] of ids.entries()) {
      const key = `offline/orders/dt=2026-03-01/${id}-0.parquet`;
      bucket.objects.set(key, await parquet([i * 10 + 1, i * 10 + 2]));
      bucket.objects.set(
        ingestRecordKey('orders', String(i).repeat(64), id),
        Buffer.from(
          `${JSON.stringify({ ingestId: id, source: 'orders', sha256: String(i).repeat(64), file: 'x.csv', rows: 2, firstSeq: i * 10 + 1, at: '2026-03-01T00:00:00Z', files: [key] })}\n`,
        ),
      );
    }
    // Hold the holder's first download until both processes have tried to create the lock, so
    // the runs overlap whatever the machine's load.
    const lockKey = compactionLockKey('orders');
    const lockCreates = () => bucket.requests.filter((r) => r.startsWith(`PUT ${lockKey}`)).length;
    bucket.beforeRequest = async (method, key) => {
      if (method !== 'GET' || !key.startsWith('offline/orders/dt=')) return undefined;
      const until = Date.now() + 60_000; // bounded: a process that died early fails the test below
      while (lockCreates() < 2 && Date.now() < until)
        await new Promise((resolve) => setTimeout(resolve, 20));
      return undefined;
    };
    const [a, b] = await Promise.all([compact(), compact()]);
    bucket.beforeRequest = undefined;
    const runs = [a, b];
    const ok = runs.filter((r) => r.code === 0);
    const refused = runs.filter((r) => r.code !== 0);
    expect(ok, runs.map((r) => r.stderr).join('\n')).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect(refused[0]?.code).toBe(1);
    expect(refused[0]?.stderr).toContain(
      'the compaction of source "orders" is already running: the lock s3://offline-bucket/offline/_ingests/orders/compactions/_lock.json is held by owner',
    );
    expect(refused[0]?.stderr).toMatch(/--break-lock [0-9a-f]{12}/);
    const result = JSON.parse(ok[0]?.stdout ?? '{}');
    expect(result.sources[0]).toMatchObject({ objectsBefore: 2, objectsAfter: 1 });
    const records = [...bucket.objects.keys()].filter(
      (k) => k.startsWith('offline/_ingests/orders/compactions/') && k !== lockKey,
    );
    expect(records).toEqual([
      `offline/_ingests/orders/compactions/${result.sources[0].compactionId}.json`,
    ]);
    // the two replaced objects (kept until keepUntil) and the one merged object: no other upload
    expect([...bucket.objects.keys()].filter((k) => k.startsWith('offline/orders/'))).toHaveLength(
      3,
    );
    expect(bucket.objects.has(lockKey)).toBe(false);
  }, 120_000);
});
