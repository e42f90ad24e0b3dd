import {
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  acquireS3Lock,
  S3LockHeldError,
  S3LockLostError,
  type S3LockOptions,
} from '../../../lib/offline/s3-lock.ts';

// Who holds the lock, what a run that finds it held is told, and how a renewal reads a lock that
// changed under it (aws-sdk-client-mock; the lease timed on S3's clock is in s3-compact-lock).
const s3 = mockClient(S3Client);
const clock = { now: new Date('2026-04-01T12:00:00Z') };
beforeEach(() => {
  s3.reset();
  clock.now = new Date('2026-04-01T12:00:00Z');
});
const key = 'offline/_ingests/orders/compactions/_lock.json';
const options = (extra: Partial<S3LockOptions> = {}): S3LockOptions => ({
  s3: new S3Client({ region: 'eu-west-1' }),
  bucket: 'b',
  key,
  purpose: 'the compaction of source "orders"',
  leaseMs: 60_000,
  now: () => clock.now,
  conflictBackoffMs: () => 0,
  ...extra,
});
const s3Error = (status: number, name: string) =>
  new S3ServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: status } });
const text = (value: string) => ({ transformToString: async () => value }) as never;
const holder = (owner: string, expires: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    owner,
    host: 'build-7',
    pid: 4242,
    purpose: 'p',
    started: '2026-04-01T11:59:00.000Z',
    expires,
    ...extra,
  });
const puts = () => s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
/** A lock held by `owner` until 12:01 (not expired at 12:00), read with ETag "held". */
const heldBy = (owner: string) =>
  s3
    .on(GetObjectCommand)
    .resolves({ ETag: '"held"', Body: text(holder(owner, '2026-04-01T12:01:00.000Z')) });

describe('taking the S3 lock', () => {
  it('writes who holds it: owner, host, pid, purpose, start, expiry and lease', async () => {
    s3.on(PutObjectCommand).resolves({ ETag: '"e1"' });
    const lock = await acquireS3Lock(options());
    const written = JSON.parse(String(puts()[0]?.Body));
    expect(written).toEqual({ ...lock.holder });
    expect(written).toMatchObject({
      pid: process.pid,
      purpose: 'the compaction of source "orders"',
      started: '2026-04-01T12:00:00.000Z',
      expires: '2026-04-01T12:01:00.000Z',
      leaseMs: 60_000,
    });
    expect(written.owner).toMatch(/^[0-9a-f]{12}$/);
    expect(written.host).not.toBe('');
    expect(puts()[0]).toMatchObject({ Bucket: 'b', Key: key, ContentType: 'application/json' });
  });

  it('tells a run that finds it held who holds it, since when, until when, and how to break it', async () => {
    s3.on(PutObjectCommand).rejects(s3Error(412, 'PreconditionFailed'));
    heldBy('a1b2c3d4e5f6');
    const error = await acquireS3Lock(options()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(S3LockHeldError);
    expect(error).toMatchObject({
      name: 'S3LockHeldError',
      message: `the compaction of source "orders" cannot run now: p is already running; the lock s3://b/${key} is held by owner a1b2c3d4e5f6 (host build-7, pid 4242, since 2026-04-01T11:59:00.000Z); its lease expires at 2026-04-01T12:01:00.000Z unless renewed`,
      hint: 'wait for that run to finish. If it was killed, run again after 2026-04-01T12:01:00.000Z (an expired lease is taken over), or now with --break-lock a1b2c3d4e5f6 once you are sure that process is gone',
    });
    expect(puts()).toHaveLength(1); // never written over
  });

  it('with --break-lock naming the holder, takes a lease that has not expired, with If-Match on the ETag read', async () => {
    s3.on(PutObjectCommand, { IfNoneMatch: '*' }).rejects(s3Error(412, 'PreconditionFailed'));
    s3.on(PutObjectCommand, { IfMatch: '"held"' }).resolves({ ETag: '"mine"' });
    heldBy('a1b2c3d4e5f6');
    const lock = await acquireS3Lock(options({ breakOwner: 'a1b2c3d4e5f6' }));
    expect(lock.holder.owner).not.toBe('a1b2c3d4e5f6');
    expect(puts().map((p) => p.IfMatch)).toEqual([undefined, '"held"']);
  });

  it('with --break-lock naming another owner, leaves the lock to its holder', async () => {
    s3.on(PutObjectCommand).rejects(s3Error(412, 'PreconditionFailed'));
    heldBy('a1b2c3d4e5f6');
    await expect(acquireS3Lock(options({ breakOwner: 'ffffffffffff' }))).rejects.toThrow(
      'held by owner a1b2c3d4e5f6',
    );
    expect(puts().filter((p) => p.IfMatch !== undefined)).toEqual([]);
  });

  it('counts an object that is not a lock fstore wrote as expired a lease after it was written; --break-lock unreadable takes it at once', async () => {
    s3.on(PutObjectCommand, { IfNoneMatch: '*' }).rejects(s3Error(412, 'PreconditionFailed'));
    s3.on(GetObjectCommand).resolves({
      ETag: '"foreign"',
      Body: text('not json'),
      LastModified: new Date('2026-04-01T11:59:30Z'),
    });
    const error = await acquireS3Lock(options()).catch((e: unknown) => e);
    expect(error).toMatchObject({
      message: `the compaction of source "orders" is locked by s3://b/${key}, which is not a lock fstore wrote (unreadable); it counts as expired at 2026-04-01T12:00:30.000Z`,
      hint: 'run again after that time, or now with --break-lock unreadable if no other fstore compact is running',
    });
    s3.on(PutObjectCommand, { IfMatch: '"foreign"' }).resolves({ ETag: '"mine"' });
    await acquireS3Lock(options({ breakOwner: 'unreadable' }));
    clock.now = new Date('2026-04-01T12:00:31Z'); // past the lease: taken without being asked
    await acquireS3Lock(options());
    expect(puts().filter((p) => p.IfMatch === '"foreign"')).toHaveLength(2);
  });

  it('reads a lock missing its host, pid or purpose, and one written with JSON that is not a holder, as fstore does', async () => {
    s3.on(PutObjectCommand).rejects(s3Error(412, 'PreconditionFailed'));
    s3.on(GetObjectCommand).resolves({
      ETag: '"old"',
      Body: text(
        JSON.stringify({
          owner: 'o1',
          started: '2026-04-01T11:00:00Z',
          expires: '2026-04-01T12:01:00Z',
        }),
      ),
    });
    await expect(acquireS3Lock(options())).rejects.toThrow(
      'held by owner o1 (host ?, pid 0, since 2026-04-01T11:00:00Z)',
    );
    for (const body of [
      JSON.stringify({ owner: 'o1', expires: '2026-04-01T12:01:00Z' }),
      JSON.stringify({ owner: 'o1', started: '2026-04-01T11:00:00Z' }),
      JSON.stringify({ started: '2026-04-01T11:00:00Z', expires: '2026-04-01T12:01:00Z' }),
    ]) {
      s3.on(GetObjectCommand).resolves({
        ETag: '"old"',
        Body: text(body),
        LastModified: new Date('2026-04-01T11:59:30Z'),
      });
      await expect(acquireS3Lock(options()), body).rejects.toThrow('not a lock fstore wrote');
    }
  });

  it('takes over a lock whose expiry cannot be read, and times an expired lease by its expiry', async () => {
    s3.on(PutObjectCommand, { IfNoneMatch: '*' }).rejects(s3Error(412, 'PreconditionFailed'));
    s3.on(PutObjectCommand, { IfMatch: '"old"' }).resolves({ ETag: '"mine"' });
    s3.on(GetObjectCommand).resolves({ ETag: '"old"', Body: text(holder('o1', 'soon')) });
    await acquireS3Lock(options());
    // Exactly at its expiry the lease is over.
    s3.on(GetObjectCommand).resolves({
      ETag: '"old"',
      Body: text(holder('o1', '2026-04-01T12:00:00.000Z')),
    });
    await acquireS3Lock(options());
    expect(puts().filter((p) => p.IfMatch === '"old"')).toHaveLength(2);
  });

  it('settles a put answered without an ETag by reading the lock back', async () => {
    let stored = '';
    s3.on(PutObjectCommand).callsFake(async (input: { Body: string }) => {
      stored = input.Body;
      return {};
    });
    s3.on(GetObjectCommand).callsFake(async () => ({ ETag: '"read"', Body: text(stored) }));
    const lock = await acquireS3Lock(options());
    expect(JSON.parse(stored).owner).toBe(lock.holder.owner);
    expect(puts()).toHaveLength(1);
  });

  it('gives up after 8 rounds of conflicting writes, saying so', async () => {
    s3.on(PutObjectCommand).rejects(s3Error(409, 'ConditionalRequestConflict'));
    await expect(acquireS3Lock(options())).rejects.toMatchObject({
      name: 'S3LockHeldError',
      message: `could not take the lock s3://b/${key} (the compaction of source "orders") after 8 attempts: other runs kept writing it`,
      hint: 'run again in a minute',
    });
    expect(puts()).toHaveLength(8);
  });

  it('names a failed or denied read of the lock, with its cause', async () => {
    s3.on(PutObjectCommand).rejects(s3Error(412, 'PreconditionFailed'));
    const down = s3Error(500, 'InternalError');
    s3.on(GetObjectCommand).rejects(down);
    await expect(acquireS3Lock(options())).rejects.toMatchObject({
      name: 'S3LockHeldError',
      message: expect.stringMatching(new RegExp(`^reading the lock s3://b/${key} failed: `)),
      hint: 'run again',
      cause: down,
    });
    s3.on(GetObjectCommand).rejects(s3Error(403, 'AccessDenied'));
    await expect(acquireS3Lock(options())).rejects.toMatchObject({
      message: `access denied reading the lock s3://b/${key} (the compaction of source "orders")`,
      hint: 'the caller needs s3:GetObject, s3:PutObject and s3:DeleteObject on that key (fstore iam-policy --for compact allows them)',
    });
  });
});

describe('renewing the S3 lock', () => {
  it('after a renewal of unknown outcome finds no lock, tries again rather than give the lease up', async () => {
    s3.on(PutObjectCommand, { IfNoneMatch: '*' }).resolves({ ETag: '"e1"' });
    s3.on(PutObjectCommand, { IfMatch: '"e1"' })
      .rejectsOnce(new Error('socket hang up'))
      .resolves({ ETag: '"e2"' });
    s3.on(GetObjectCommand).rejects(s3Error(404, 'NoSuchKey'));
    const lock = await acquireS3Lock(options());
    await lock.confirm();
    expect(lock.signal.aborted).toBe(false);
    expect(puts().map((p) => p.IfMatch)).toEqual([undefined, '"e1"', '"e1"']);
  });

  it('loses the lease when the lock was removed, or another owner took it over, naming that owner', async () => {
    s3.on(PutObjectCommand, { IfNoneMatch: '*' }).resolves({ ETag: '"e1"' });
    s3.on(PutObjectCommand, { IfMatch: '"e1"' }).rejects(s3Error(412, 'PreconditionFailed'));
    s3.on(GetObjectCommand).rejects(s3Error(404, 'NoSuchKey'));
    const removed = await acquireS3Lock(options());
    await expect(removed.confirm()).rejects.toMatchObject({
      name: 'S3LockLostError',
      message: `the compaction of source "orders" lost its lock s3://b/${key}: the lock object was removed or replaced; nothing is committed after this`,
      hint: 'run again: another run may be compacting this source now',
    });
    expect(removed.signal.reason).toBeInstanceOf(S3LockLostError);

    heldBy('taker0000000');
    const taken = await acquireS3Lock(options());
    await expect(taken.confirm()).rejects.toThrow(
      'lost its lock s3://b/offline/_ingests/orders/compactions/_lock.json: owner taker0000000 (host build-7, pid 4242) took it over',
    );
    expect(taken.signal.aborted).toBe(true);
  });

  it('loses the lease after 8 conflicting renewals, naming the last failure', async () => {
    s3.on(PutObjectCommand, { IfNoneMatch: '*' }).resolves({ ETag: '"e1"' });
    const conflict = s3Error(409, 'ConditionalRequestConflict');
    conflict.message = 'conflicting write';
    s3.on(PutObjectCommand, { IfMatch: '"e1"' }).rejects(conflict);
    const lock = await acquireS3Lock(options());
    await expect(lock.confirm()).rejects.toThrow(
      'lost its lock s3://b/offline/_ingests/orders/compactions/_lock.json: it could not be renewed (conflicting write)',
    );
    expect(puts()).toHaveLength(9);
  });

  it('refuses to confirm a lock it released, and a second release deletes nothing', async () => {
    s3.on(PutObjectCommand).resolves({ ETag: '"e1"' });
    s3.on(DeleteObjectCommand).resolves({});
    const lock = await acquireS3Lock(options());
    expect(await lock.release()).toBe('released');
    await expect(lock.confirm()).rejects.toThrow(': it was released;');
    expect(await lock.release()).toBe('released');
    expect(s3.commandCalls(DeleteObjectCommand)).toHaveLength(1);
  });

  it('settles a renewal answered without an ETag by reading the lock back, and releases with the ETag read', async () => {
    s3.on(PutObjectCommand, { IfNoneMatch: '*' }).resolves({ ETag: '"e1"' });
    let stored = '';
    s3.on(PutObjectCommand, { IfMatch: '"e1"' }).callsFake(async (input: { Body: string }) => {
      stored = input.Body;
      return {};
    });
    s3.on(GetObjectCommand).callsFake(async () => ({ ETag: '"read"', Body: text(stored) }));
    s3.on(DeleteObjectCommand).resolves({});
    const lock = await acquireS3Lock(options());
    clock.now = new Date('2026-04-01T12:00:10Z');
    await lock.confirm();
    expect(lock.holder.expires).toBe('2026-04-01T12:01:10.000Z');
    expect(await lock.release()).toBe('released');
    expect(s3.commandCalls(DeleteObjectCommand)[0]?.args[0].input.IfMatch).toBe('"read"');
  });

  it('renews with the lease counted from the renewal, keeping the rest of the holder', async () => {
    s3.on(PutObjectCommand).resolves({ ETag: '"e1"' });
    const lock = await acquireS3Lock(options());
    const first = lock.holder;
    clock.now = new Date('2026-04-01T12:00:20Z');
    await lock.confirm();
    expect(lock.holder).toEqual({ ...first, expires: '2026-04-01T12:01:20.000Z' });
    expect(JSON.parse(String(puts()[1]?.Body))).toEqual(lock.holder);
  });
});

describe('the S3 lock’s defaults and its release', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('without a clock, writes the lease from this host’s time', async () => {
    s3.on(PutObjectCommand).resolves({ ETag: '"e1"' });
    const before = Date.now();
    const lock = await acquireS3Lock({ ...options(), now: undefined });
    const expires = Date.parse(lock.holder.expires);
    expect(expires).toBeGreaterThanOrEqual(before + 60_000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 60_000);
    expect(lock.holder.started).toBe(new Date(expires - 60_000).toISOString());
  });

  it('renews every third of the lease unless told otherwise', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    s3.on(PutObjectCommand).resolves({ ETag: '"e1"' });
    const lock = await acquireS3Lock(options());
    await vi.advanceTimersByTimeAsync(19_999);
    expect(puts()).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(puts()).toHaveLength(2);
    expect(puts()[1]?.IfMatch).toBe('"e1"');
    await lock.release();
  });

  it('leaves the lock to expire when its delete keeps conflicting, or its read-back after a 412 fails', async () => {
    s3.on(PutObjectCommand).resolves({ ETag: '"e1"' });
    s3.on(DeleteObjectCommand).rejects(s3Error(409, 'ConditionalRequestConflict'));
    expect(await (await acquireS3Lock(options())).release()).toBe('left-to-expire');
    expect(s3.commandCalls(DeleteObjectCommand)).toHaveLength(8);
    s3.on(DeleteObjectCommand).rejects(s3Error(412, 'PreconditionFailed'));
    s3.on(GetObjectCommand).rejects(new Error('ECONNRESET'));
    expect(await (await acquireS3Lock(options())).release()).toBe('left-to-expire');
  });
});

describe('the S3 lock when S3 answers something that is not a lock', () => {
  const foreign = { ETag: '"foreign"', Body: text('not json') };

  it('a renewal that reads back an object that is not a lock loses the lease, naming it', async () => {
    s3.on(PutObjectCommand, { IfNoneMatch: '*' }).resolves({ ETag: '"e1"' });
    s3.on(PutObjectCommand, { IfMatch: '"e1"' }).rejects(s3Error(412, 'PreconditionFailed'));
    s3.on(GetObjectCommand).resolves(foreign);
    const lock = await acquireS3Lock(options());
    await expect(lock.confirm()).rejects.toThrow(
      /^the compaction of source "orders" lost its lock .*: the lock object was removed or replaced;/,
    );
  });

  it('a release that reads back an object that is not a lock leaves it, without throwing', async () => {
    s3.on(PutObjectCommand).resolves({ ETag: '"e1"' });
    s3.on(DeleteObjectCommand).rejects(s3Error(412, 'PreconditionFailed'));
    s3.on(GetObjectCommand).resolves(foreign);
    expect(await (await acquireS3Lock(options())).release()).toBe('not-ours');
  });

  it('counts a read answered without a body, or without Last-Modified, as a foreign lock', async () => {
    s3.on(PutObjectCommand, { IfNoneMatch: '*' }).rejects(s3Error(412, 'PreconditionFailed'));
    s3.on(GetObjectCommand).resolves({
      ETag: '"empty"',
      LastModified: new Date('2026-04-01T11:59:30Z'),
    });
    await expect(acquireS3Lock(options())).rejects.toThrow('not a lock fstore wrote');
    // No Last-Modified: its lease is long over, so it is taken over.
    s3.on(GetObjectCommand).resolves(foreign);
    s3.on(PutObjectCommand, { IfMatch: '"foreign"' }).resolves({ ETag: '"mine"' });
    await acquireS3Lock(options());
    expect(puts().filter((p) => p.IfMatch === '"foreign"')).toHaveLength(1);
  });

  it('keeps the SDK error as the cause of an access denial', async () => {
    const denied = s3Error(403, 'AccessDenied');
    s3.on(PutObjectCommand).rejects(denied);
    await expect(acquireS3Lock(options())).rejects.toMatchObject({ cause: denied });
  });
});
