import { describe, expect, it } from 'vitest';
import { compactionLockKey } from '../../lib/offline/s3-compact-record.ts';
import {
  ordersDataKey,
  threeIngestIds,
  useS3CompactionFixture,
} from '../helpers/s3-compaction-fixture.ts';

const fixture = useS3CompactionFixture('compact-s3-lock');

const compact = () => fixture.compact(['--json']);

describe('two fstore compact --env <aws> processes of one source at once (loopback bucket)', () => {
  it('exactly one compacts; the other exits 1 naming the holder, having uploaded nothing', async () => {
    for (const [i, id] of threeIngestIds.slice(0, 2).entries())
      await fixture.commitIngest(i, id, [
        [ordersDataKey('2026-03-01', id), [i * 10 + 1, i * 10 + 2]],
      ]);
    // Hold the holder's first download until both processes have tried to create the lock, so
    // the runs overlap whatever the machine's load.
    const lockKey = compactionLockKey('orders');
    const lockCreates = () =>
      fixture.bucket.requests.filter((r) => r.startsWith(`PUT ${lockKey}`)).length;
    fixture.bucket.beforeRequest = async (method, key) => {
      if (method !== 'GET' || !key.startsWith('offline/orders/dt=')) return undefined;
      const until = Date.now() + 60_000; // bounded: a process that died early fails the test below
      while (lockCreates() < 2 && Date.now() < until)
        await new Promise((resolve) => setTimeout(resolve, 20));
      return undefined;
    };
    const [a, b] = await Promise.all([compact(), compact()]);
    fixture.bucket.beforeRequest = undefined;
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
    const records = [...fixture.bucket.objects.keys()].filter(
      (k) => k.startsWith('offline/_ingests/orders/compactions/') && k !== lockKey,
    );
    expect(records).toEqual([
      `offline/_ingests/orders/compactions/${result.sources[0].compactionId}.json`,
    ]);
    // the two replaced objects (kept until keepUntil) and the one merged object: no other upload
    expect(
      [...fixture.bucket.objects.keys()].filter((k) => k.startsWith('offline/orders/')),
    ).toHaveLength(3);
    expect(fixture.bucket.objects.has(lockKey)).toBe(false);
  }, 120_000);
});
