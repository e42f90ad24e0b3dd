import { beforeEach, describe, expect, it } from 'vitest';
import { compactionLockKey } from '../../lib/offline/s3-compact-record.ts';
import { useS3CompactionFixture } from '../helpers/s3-compaction-fixture.ts';

const fixture = useS3CompactionFixture('compact-s3-pushed-crash');
beforeEach(() => fixture.bucket.objects.clear());

async function stageTwoObjects(): Promise<void> {
  for (const [n, orderId] of ['O1', 'O2'].entries())
    fixture.bucket.objects.set(
      `offline/_push/orders/arrived=2026-03-01/fstore-dev-push-orders-1-2026-03-01-12-0${n}-00.parquet`,
      await fixture.stagedParquet([
        { orderId, pushId: `p${n}`, row: 0, amount: 1.5, created: false },
      ]),
    );
}

const compact = (env: Record<string, string> = {}, breakLock?: string) =>
  fixture.compact(['--json', ...(breakLock ? ['--break-lock', breakLock] : [])], env);

const ingestRecords = () =>
  [...fixture.bucket.objects.keys()].filter(
    (k) => k.startsWith('offline/_ingests/orders/') && !k.includes('/compactions/'),
  );
const staged = () =>
  [...fixture.bucket.objects.keys()].filter((k) => k.startsWith('offline/_push/orders/arrived='));

/** The owner of the lock a killed run left, for --break-lock. */
function leftLockOwner(): string {
  const lock = fixture.bucket.objects.get(compactionLockKey('orders'));
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
    fixture.bucket.objects.set(bad, Buffer.from('not parquet at all'));
    const killed = await compact({ FSTORE_FAULT: 'push-ingest:after-set-aside-copy' });
    expect(killed.code).toBeNull();
    const refused = () =>
      [...fixture.bucket.objects.keys()].filter((k) =>
        k.startsWith('offline/_push/orders/_refused/'),
      );
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
