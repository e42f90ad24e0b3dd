import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type DuckdbSession, openDuckdb } from '../../lib/offline/duckdb-session.ts';
import { compactionLockKey } from '../../lib/offline/s3-compact-record.ts';
import { makeTempDir, runFstore } from '../helpers/run-fstore.ts';
import { type MemoryBucket, startMemoryBucket } from '../helpers/s3-memory-bucket.ts';

let bucket: MemoryBucket;
let duckdb: DuckdbSession;
let scratch: string;
beforeAll(async () => {
  bucket = await startMemoryBucket('offline-bucket');
  duckdb = await openDuckdb();
  scratch = await makeTempDir('compact-s3-pushed-crash');
});
afterAll(async () => {
  duckdb.close();
  await bucket.close();
});
beforeEach(() => bucket.objects.clear());

async function stageTwoObjects(): Promise<void> {
  for (const [n, order] of ['O1', 'O2'].entries()) {
    const file = path.join(scratch, `s${n}.parquet`);
    await duckdb.connection.run(
      `COPY (SELECT '${order}' AS order_id, 'C1' AS customer_id, 1.5::DOUBLE AS amount, 'books' AS category, 1772366400123456::BIGINT AS event_ts, NULL::BIGINT AS created_ts, 'p${n}' AS fstore_push_id, 0::INTEGER AS fstore_push_row, NULL::VARCHAR AS fstore_idempotency_key) TO '${file}' (FORMAT parquet)`,
    );
    bucket.objects.set(
      `offline/_push/orders/arrived=2026-03-01/fstore-dev-push-orders-1-2026-03-01-12-0${n}-00.parquet`,
      await readFile(file),
    );
  }
}

const compact = (env: Record<string, string> = {}, breakLock?: string) =>
  runFstore(
    [
      '--env',
      'dev',
      'compact',
      '--source',
      'orders',
      '--bucket',
      bucket.name,
      '--json',
      ...(breakLock ? ['--break-lock', breakLock] : []),
    ],
    { env: { ...bucket.env, ...env } },
  );

const ingestRecords = () =>
  [...bucket.objects.keys()].filter(
    (k) => k.startsWith('offline/_ingests/orders/') && !k.includes('/compactions/'),
  );
const staged = () =>
  [...bucket.objects.keys()].filter((k) => k.startsWith('offline/_push/orders/arrived='));

/** The owner of the lock a killed run left, for --break-lock. */
function leftLockOwner(): string {
  const lock = bucket.objects.get(compactionLockKey('orders'));
  return (JSON.parse(lock?.toString('utf8') ?? '{}') as { owner?: string }).owner ?? '';
}

describe('fstore compact --env <aws> killed (SIGKILL) while ingesting pushed rows', () => {
  it('killed before the commit record: nothing committed; the next run ingests the rows once', async () => {
    await stageTwoObjects();
    const killed = await compact({ FSTORE_FAULT: 'ingest:before-commit' });
    expect(killed.code).toBeNull();
    expect(ingestRecords()).toEqual([]);
    expect(staged()).toHaveLength(2);
    const rerun = await compact({}, leftLockOwner());
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(JSON.parse(rerun.stdout).sources[0].pushed).toMatchObject({
      recovered: 'dropped',
      rows: 2,
    });
    expect(ingestRecords()).toHaveLength(1);
    expect(staged()).toEqual([]);
  });

  it('killed after the commit record: the next run removes the staged objects without a second ingest', async () => {
    await stageTwoObjects();
    const killed = await compact({ FSTORE_FAULT: 'push-ingest:after-commit' });
    expect(killed.code).toBeNull();
    expect(ingestRecords()).toHaveLength(1);
    expect(staged()).toHaveLength(2);
    const rerun = await compact({}, leftLockOwner());
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(JSON.parse(rerun.stdout).sources[0].pushed).toMatchObject({
      recovered: 'finished',
      rows: 0,
    });
    expect(ingestRecords()).toHaveLength(1);
    expect(staged()).toEqual([]);
  });

  it('killed between setting a refused object aside and removing it from staging: the next run sets it aside again, one copy and reason, nothing left staged', async () => {
    await stageTwoObjects();
    const bad =
      'offline/_push/orders/arrived=2026-03-01/fstore-dev-push-orders-1-2026-03-01-12-09-00.parquet';
    bucket.objects.set(bad, Buffer.from('not parquet at all'));
    const killed = await compact({ FSTORE_FAULT: 'push-ingest:after-set-aside-copy' });
    expect(killed.code).toBeNull();
    const refused = () =>
      [...bucket.objects.keys()].filter((k) => k.startsWith('offline/_push/orders/_refused/'));
    const aside = [
      'offline/_push/orders/_refused/fstore-dev-push-orders-1-2026-03-01-12-09-00.parquet',
      'offline/_push/orders/_refused/fstore-dev-push-orders-1-2026-03-01-12-09-00.parquet.reason.json',
    ];
    expect(refused()).toEqual(aside);
    // Named unreadable, it is set aside before the batch's two good objects are taken.
    expect(staged()).toHaveLength(3);
    expect(staged()).toContain(bad);
    const rerun = await compact({}, leftLockOwner());
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(JSON.parse(rerun.stdout).sources[0].pushed.refused).toEqual([
      expect.objectContaining({ key: bad }),
    ]);
    expect(refused()).toEqual(aside);
    expect(staged()).toEqual([]);
    expect(ingestRecords()).toHaveLength(1);
  });
});
