import { beforeEach, describe, expect, it } from 'vitest';
import type { S3CompactOptions } from '../../lib/offline/s3-compact.ts';
import { compactionLockKey } from '../../lib/offline/s3-compact-record.ts';
import {
  acquireS3Lock,
  S3LockHeldError,
  type S3LockHolder,
  S3LockLostError,
  type S3LockOptions,
} from '../../lib/offline/s3-lock.ts';
import { useS3CompactionFixture } from '../helpers/s3-compaction-fixture.ts';

const fixture = useS3CompactionFixture('s3-compact-lock', { pageSize: 3 });

const lockKey = compactionLockKey('orders');
const clock = { now: new Date('2026-04-01T12:00:00Z') };
const now = () => clock.now;

/** Three committed ingests of `orders`, each with an object in two partitions. */
beforeEach(async () => {
  fixture.bucket.objects.clear();
  fixture.bucket.modified.clear();
  fixture.bucket.beforeRequest = undefined;
  fixture.bucket.requests.length = 0;
  clock.now = new Date('2026-04-01T12:00:00Z');
  fixture.bucket.now = now; // S3's clock; a test moves it apart from a host's
  await fixture.commitThreeIngests();
});

const readable = async () => (await fixture.readable()).map(({ object: _, ...row }) => row);

const compact = (extra: Partial<S3CompactOptions> = {}) =>
  fixture.compactInProcess({ workDir: fixture.scratch, now, ...extra });

const lockOptions = (extra: Partial<S3LockOptions> = {}): S3LockOptions => ({
  s3: fixture.s3,
  bucket: fixture.bucket.name,
  key: lockKey,
  purpose: 'the compaction of source "orders"',
  leaseMs: 60_000,
  now,
  ...extra,
});

/** A lock another process wrote (a holder killed without releasing it, say). */
function plantLock(holder: Partial<S3LockHolder> = {}): S3LockHolder {
  const planted: S3LockHolder = {
    owner: 'dead0wner000',
    host: 'build-7',
    pid: 4242,
    purpose: 'the compaction of source "orders"',
    started: '2026-04-01T11:50:00.000Z',
    expires: '2026-04-01T11:55:00.000Z',
    leaseMs: 60_000,
    ...holder,
  };
  fixture.bucket.objects.set(lockKey, Buffer.from(`${JSON.stringify(planted)}\n`));
  // S3 last wrote it a lease (60 s) before the expiry it names.
  fixture.bucket.modified.set(lockKey, new Date(Date.parse(planted.expires) - 60_000));
  return planted;
}

const lockHolder = (): S3LockHolder | undefined => {
  const bytes = fixture.bucket.objects.get(lockKey);
  return bytes ? (JSON.parse(bytes.toString('utf8')) as S3LockHolder) : undefined;
};
const compactionRecords = () =>
  [...fixture.bucket.objects.keys()].filter(
    (k) => k.startsWith('offline/_ingests/orders/compactions/') && k !== lockKey,
  );
const dataKeys = () =>
  [...fixture.bucket.objects.keys()].filter((k) => k.startsWith('offline/orders/'));

describe('one S3 compaction per source at a time: the lock (loopback bucket answering conditional writes as S3 does)', () => {
  it('of two compactions started at once exactly one runs; the other names the holder and commits nothing', async () => {
    const before = await readable();
    // The winner's release waits until the other has settled: on a loaded machine the other's
    // read of the lock could otherwise come after the release and take the lock in turn.
    let oneSettled!: () => void;
    const otherSettled = new Promise<void>((resolve) => {
      oneSettled = resolve;
    });
    fixture.bucket.beforeRequest = async (method, key) => {
      if (method === 'DELETE' && key === lockKey) await otherSettled;
      return undefined;
    };
    const settled = await Promise.allSettled(
      [compact(), compact()].map((run) => run.finally(oneSettled)),
    );
    const won = settled.filter((s) => s.status === 'fulfilled');
    const lost = settled.filter((s) => s.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    const winner = won[0]?.status === 'fulfilled' ? won[0].value : undefined;
    const error = lost[0]?.status === 'rejected' ? lost[0].reason : undefined;
    expect(error).toBeInstanceOf(S3LockHeldError);
    expect(error.message).toContain(
      `the compaction of source "orders" is already running: the lock s3://offline-bucket/${lockKey} is held by owner ${winner?.lockOwner}`,
    );
    expect(error.hint).toContain(`--break-lock ${winner?.lockOwner}`);
    expect(compactionRecords()).toEqual([
      `offline/_ingests/orders/compactions/${winner?.record?.ingestId}.json`,
    ]);
    expect(await readable()).toEqual(before);
    expect(fixture.bucket.objects.has(lockKey)).toBe(false); // released
  }, 60_000);

  it('takes over the lock of a holder killed without releasing it once its lease has expired, and not before', async () => {
    const before = await readable();
    plantLock({ expires: '2026-04-01T12:00:30.000Z' });
    const early = await compact().catch((e: unknown) => e);
    expect(early).toBeInstanceOf(S3LockHeldError);
    expect((early as Error).message).toContain(
      'held by owner dead0wner000 (host build-7, pid 4242, since 2026-04-01T11:50:00.000Z); its lease expires at 2026-04-01T12:00:31.000Z',
    );
    expect(lockHolder()?.owner).toBe('dead0wner000');
    expect(dataKeys()).toHaveLength(6); // nothing uploaded

    clock.now = new Date('2026-04-01T12:00:30.000Z');
    await expect(compact()).rejects.toThrow(S3LockHeldError); // Last-Modified has whole seconds
    clock.now = new Date('2026-04-01T12:00:31.000Z');
    const result = await compact();
    expect(result.record).toBeDefined();
    expect(result.lockOwner).not.toBe('dead0wner000');
    expect(await readable()).toEqual(before);
    expect(fixture.bucket.objects.has(lockKey)).toBe(false);
  }, 60_000);

  it('--break-lock takes over an unexpired lock only from the owner it names', async () => {
    plantLock({ expires: '2026-04-01T13:00:00.000Z' });
    await expect(compact({ breakLockOwner: 'someone0else' })).rejects.toThrow(
      'held by owner dead0wner000',
    );
    const result = await compact({ breakLockOwner: 'dead0wner000' });
    expect(result.record).toBeDefined();
  }, 60_000);

  it('of two takers racing for one expired lease exactly one wins; the loser names the winner', async () => {
    const dead = plantLock();
    // Hold the two takeovers (If-Match on the dead holder's ETag) until both have been sent;
    // later If-Match writes (the winner's renewals) pass, or each would wait for a partner.
    const waiting: (() => void)[] = [];
    let released = false;
    fixture.bucket.beforeRequest = async (method, key, headers) => {
      if (released || method !== 'PUT' || key !== lockKey || headers['if-match'] === undefined)
        return;
      await new Promise<void>((resolve) => {
        waiting.push(resolve);
        if (waiting.length === 2) {
          released = true;
          for (const go of waiting) go();
        }
      });
      return undefined;
    };
    const settled = await Promise.allSettled([
      acquireS3Lock(lockOptions()),
      acquireS3Lock(lockOptions()),
    ]);
    fixture.bucket.beforeRequest = undefined;
    const won = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const lost = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason] : []));
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]).toBeInstanceOf(S3LockHeldError);
    expect(lost[0].message).toContain(`held by owner ${won[0]?.holder.owner}`);
    expect(lockHolder()?.owner).toBe(won[0]?.holder.owner);
    expect(lockHolder()?.owner).not.toBe(dead.owner);
    // both takers sent their If-Match write: the race really happened at S3
    expect(
      fixture.bucket.requests.filter((r) => r === `PUT ${lockKey}`).length,
    ).toBeGreaterThanOrEqual(4);
    expect(await won[0]?.release()).toBe('released');
  });

  it('a run whose lease is taken over mid-run commits nothing, removes its uploads and leaves the new holder its lock', async () => {
    const before = await readable();
    const keys = dataKeys();
    let taker: S3LockHolder | undefined;
    fixture.bucket.beforeRequest = (method, key) => {
      // at the first merged upload, another run takes the lock (as after an expired lease)
      if (method === 'PUT' && key.startsWith('offline/orders/') && !taker)
        taker = plantLock({ owner: 'taker0000000', expires: '2026-04-01T13:00:00.000Z' });
      return undefined;
    };
    const error = await compact().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(S3LockLostError);
    expect((error as Error).message).toContain(
      'lost its lock s3://offline-bucket/offline/_ingests/orders/compactions/_lock.json: owner taker0000000 (host build-7, pid 4242) took it over; nothing is committed after this',
    );
    expect(taker).toBeDefined();
    expect(compactionRecords()).toEqual([]);
    expect(dataKeys()).toEqual(keys);
    expect(await readable()).toEqual(before);
    expect(lockHolder()?.owner).toBe('taker0000000'); // its release did not delete the taker's lock
  }, 60_000);

  it('a lease lost between renewals stops the run at its next step (the periodic renewal finds it)', async () => {
    const keys = dataKeys();
    let taken = false;
    fixture.bucket.beforeRequest = async (method, key) => {
      if (method === 'GET' && key.startsWith('offline/orders/dt=2026-03-02/') && !taken) {
        taken = true;
        plantLock({ owner: 'taker0000000', expires: '2026-04-01T13:00:00.000Z' });
        // let the renewal timer (every 5 ms here) run and find the lock gone
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      return undefined;
    };
    const error = await compact({ renewEveryMs: 5 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(S3LockLostError);
    expect(compactionRecords()).toEqual([]);
    expect(dataKeys()).toEqual(keys);
    // stopped at the next step: the second partition's merge was never uploaded
    expect(
      fixture.bucket.requests.some((r) => r.startsWith('PUT offline/orders/dt=2026-03-02/')),
    ).toBe(false);
  }, 60_000);

  it('release deletes the lock only while it is ours', async () => {
    const ours = await acquireS3Lock(lockOptions());
    expect(lockHolder()?.owner).toBe(ours.holder.owner);
    expect(await ours.release()).toBe('released');
    expect(fixture.bucket.objects.has(lockKey)).toBe(false);

    const replaced = await acquireS3Lock(lockOptions());
    plantLock({ owner: 'taker0000000' });
    expect(await replaced.release()).toBe('not-ours');
    expect(lockHolder()?.owner).toBe('taker0000000');

    fixture.bucket.objects.delete(lockKey);
    const gone = await acquireS3Lock(lockOptions());
    fixture.bucket.objects.delete(lockKey);
    expect(await gone.release()).toBe('not-ours');
  });

  it('confirm renews the lease from now, and throws once the lock is someone else’s', async () => {
    const lock = await acquireS3Lock(lockOptions());
    expect(lockHolder()?.expires).toBe('2026-04-01T12:01:00.000Z');
    clock.now = new Date('2026-04-01T12:00:40Z');
    await lock.confirm();
    expect(lockHolder()?.expires).toBe('2026-04-01T12:01:40.000Z');
    expect(lockHolder()?.started).toBe('2026-04-01T12:00:00.000Z');
    plantLock({ owner: 'taker0000000' });
    await expect(lock.confirm()).rejects.toThrow(S3LockLostError);
    expect(lock.signal.aborted).toBe(true);
    expect(await lock.release()).toBe('not-ours');
  });

  it('a lock that is not JSON fstore wrote counts as expired a lease after S3 last wrote it', async () => {
    fixture.bucket.objects.set(lockKey, Buffer.from('garbage'));
    fixture.bucket.modified.set(lockKey, new Date('2026-04-01T11:59:30Z'));
    await expect(acquireS3Lock(lockOptions())).rejects.toThrow(
      'which is not a lock fstore wrote (unreadable); it counts as expired at 2026-04-01T12:00:31.000Z',
    );
    const broken = await acquireS3Lock(lockOptions({ breakOwner: 'unreadable' }));
    expect(lockHolder()?.owner).toBe(broken.holder.owner);
    await broken.release();
  });
});

describe('the lease is timed on S3’s clock, not on the hosts’ (loopback bucket with its own clock)', () => {
  const shifted = (seconds: number) => () => new Date(clock.now.getTime() + seconds * 1000);

  it('a holder whose clock runs two minutes behind keeps its lock: the expiry it writes is not what counts', async () => {
    const holder = await acquireS3Lock(lockOptions({ now: shifted(-120) }));
    expect(lockHolder()?.expires).toBe('2026-04-01T11:59:00.000Z'); // already past, by its clock
    const error = await acquireS3Lock(lockOptions()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(S3LockHeldError);
    expect((error as Error).message).toContain(`held by owner ${holder.holder.owner}`);
    expect((error as Error).message).toContain('its lease expires at 2026-04-01T12:01:01.000Z');
    expect(lockHolder()?.owner).toBe(holder.holder.owner);
    expect(await holder.release()).toBe('released');
  });

  it('a taker whose clock runs ten minutes ahead does not take over a live lease', async () => {
    const holder = await acquireS3Lock(lockOptions());
    await expect(acquireS3Lock(lockOptions({ now: shifted(600) }))).rejects.toThrow(
      `held by owner ${holder.holder.owner}`,
    );
    expect(await holder.release()).toBe('released');
  });

  it('once S3’s clock is a lease past the last write, a taker whose clock runs behind takes over, with the holder’s lease length', async () => {
    const dead = await acquireS3Lock(lockOptions()); // killed: never renewed nor released
    dead.signal.throwIfAborted();
    clock.now = new Date('2026-04-01T12:01:01Z');
    const taker = await acquireS3Lock(lockOptions({ now: shifted(-600), leaseMs: 300_000 }));
    expect(lockHolder()?.owner).toBe(taker.holder.owner);
    expect(await taker.release()).toBe('released');
  });
});
