import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type DuckdbSession, openDuckdb } from '../../lib/offline/duckdb-session.ts';
import { defaultMaxSetAsidePerRun } from '../../lib/offline/push-ingest-run.ts';
import { makeTempDir, runFstore } from '../helpers/run-fstore.ts';
import { type MemoryBucket, startMemoryBucket } from '../helpers/s3-memory-bucket.ts';

let bucket: MemoryBucket;
let duckdb: DuckdbSession;
let scratch: string;
beforeAll(async () => {
  bucket = await startMemoryBucket('offline-bucket');
  duckdb = await openDuckdb();
  scratch = await makeTempDir('compact-s3-pushed-set-aside');
});
afterAll(async () => {
  duckdb.close();
  await bucket.close();
});
beforeEach(() => bucket.objects.clear());

const stagedKey = (n: number) =>
  `offline/_push/orders/arrived=2026-03-01/fstore-dev-push-orders-1-2026-03-01-12-${String(n).padStart(2, '0')}-00.parquet`;
const staged = () =>
  [...bucket.objects.keys()].filter((k) => k.startsWith('offline/_push/orders/arrived='));
const refused = () =>
  [...bucket.objects.keys()].filter(
    (k) => k.startsWith('offline/_push/orders/_refused/') && k.endsWith('.parquet'),
  );

const compact = (json: boolean) =>
  runFstore(
    [
      '--env',
      'dev',
      'compact',
      '--source',
      'orders',
      '--bucket',
      bucket.name,
      ...(json ? ['--json'] : []),
    ],
    { env: { ...bucket.env, NO_COLOR: '1' } },
  );

/** Every staged object refused (not Parquet) but the last, a good one. */
async function stageRefusedThenGood(refusedCount: number): Promise<void> {
  for (let n = 0; n < refusedCount; n++)
    bucket.objects.set(stagedKey(n), Buffer.from('not parquet'));
  const file = path.join(scratch, 'good.parquet');
  await duckdb.connection.run(
    `COPY (SELECT 'O1' AS order_id, 'C1' AS customer_id, 1.5::DOUBLE AS amount, 'books' AS category, 1772366400123456::BIGINT AS event_ts, NULL::BIGINT AS created_ts, 'p1' AS fstore_push_id, 0::INTEGER AS fstore_push_row, NULL::VARCHAR AS fstore_idempotency_key) TO '${file}' (FORMAT parquet)`,
  );
  bucket.objects.set(stagedKey(refusedCount), await readFile(file));
}

describe('fstore compact --env <aws> with every staged object refused', () => {
  const cap = defaultMaxSetAsidePerRun;

  it(`sets aside ${cap} per run, then stops the source's push ingest (setAsideCapReached); the next run takes the rest`, async () => {
    await stageRefusedThenGood(cap + 2);
    const first = await compact(true);
    expect(first.code, first.stderr).toBe(0);
    const pushed = JSON.parse(first.stdout).sources[0].pushed;
    expect(pushed).toMatchObject({ objects: 0, setAsideCapReached: true });
    expect(pushed.refused).toHaveLength(cap);
    expect(refused()).toHaveLength(cap);
    expect(staged()).toHaveLength(3);

    const second = await compact(true);
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout).sources[0].pushed).toMatchObject({ objects: 1, rows: 1 });
    expect(JSON.parse(second.stdout).sources[0].pushed.setAsideCapReached).toBeUndefined();
    expect(staged()).toEqual([]);
  });

  it('says so on stderr', async () => {
    await stageRefusedThenGood(cap + 1);
    const run = await compact(false);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(
      new RegExp(
        `orders: ${cap} staged objects set aside this run, the most one run sets aside; the rest stay staged`,
      ),
    );
    expect(staged()).toHaveLength(2);
  });
});
