import {
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  type PutObjectCommandInput,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  acquireS3Lock,
  S3LockHeldError,
  S3LockLostError,
  type S3LockOptions,
} from '../../../lib/offline/s3-lock.ts';
import { conditionalFailureOf } from '../../../lib/offline/s3-lock-errors.ts';

const s3 = mockClient(S3Client);
beforeEach(() => s3.reset());

const clock = { now: new Date('2026-04-01T12:00:00Z') };
beforeEach(() => {
  clock.now = new Date('2026-04-01T12:00:00Z');
});
const options = (extra: Partial<S3LockOptions> = {}): S3LockOptions => ({
  s3: new S3Client({ region: 'eu-west-1' }),
  bucket: 'b',
  key: 'offline/_ingests/orders/compactions/_lock.json',
  purpose: 'the compaction of source "orders"',
  leaseMs: 60_000,
  now: () => clock.now,
  conflictBackoffMs: () => 0,
  ...extra,
});

/** An error as the SDK raises it for an S3 answer with this status and code. */
const s3Error = (status: number, name: string) =>
  new S3ServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: status } });
const conflict = () => s3Error(409, 'ConditionalRequestConflict');
const precondition = () => s3Error(412, 'PreconditionFailed');
const body = (value: unknown) => ({
  transformToString: async () => JSON.stringify(value),
});
const holder = (owner: string, expires: string) => ({
  owner,
  host: 'h',
  pid: 1,
  purpose: 'p',
  started: '2026-04-01T11:00:00.000Z',
  expires,
});
const puts = () => s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);

describe('the S3 lock’s conditional requests (aws-sdk-client-mock)', () => {
  it('retries a create that met a 409 ConditionalRequestConflict, still with If-None-Match', async () => {
    s3.on(PutObjectCommand).rejectsOnce(conflict()).resolves({ ETag: '"e1"' });
    const lock = await acquireS3Lock(options());
    expect(puts().map((p) => p.IfNoneMatch)).toEqual(['*', '*']);
    expect(JSON.parse(String(puts()[1]?.Body))).toMatchObject({
      owner: lock.holder.owner,
      expires: '2026-04-01T12:01:00.000Z',
    });
    s3.on(DeleteObjectCommand).resolves({});
    expect(await lock.release()).toBe('released');
    expect(s3.commandCalls(DeleteObjectCommand)[0]?.args[0].input.IfMatch).toBe('"e1"');
  });

  it('holds the lock when its own create landed but answered 412 (the SDK retried a put that had landed)', async () => {
    let stored = '';
    s3.on(PutObjectCommand).callsFake(async (input: PutObjectCommandInput) => {
      stored = String(input.Body);
      throw precondition();
    });
    s3.on(GetObjectCommand).callsFake(async () => ({
      ETag: '"mine"',
      Body: { transformToString: async () => stored },
    }));
    const lock = await acquireS3Lock(options());
    expect(JSON.parse(stored).owner).toBe(lock.holder.owner);
    expect(puts()).toHaveLength(1);
    s3.on(DeleteObjectCommand).resolves({});
    await lock.release();
    expect(s3.commandCalls(DeleteObjectCommand)[0]?.args[0].input.IfMatch).toBe('"mine"');
  });

  it('after a create whose outcome is unknown (a 500) and that did not land, creates again', async () => {
    s3.on(PutObjectCommand).rejectsOnce(s3Error(500, 'InternalError')).resolves({ ETag: '"e2"' });
    s3.on(GetObjectCommand).rejects(s3Error(404, 'NoSuchKey'));
    const lock = await acquireS3Lock(options());
    expect(puts().map((p) => p.IfNoneMatch)).toEqual(['*', '*']);
    expect(lock.holder.expires).toBe('2026-04-01T12:01:00.000Z');
  });

  it('takes over an expired lease with If-Match on the ETag it read; a 412 there means another taker won, and it names that one', async () => {
    s3.on(PutObjectCommand, { IfNoneMatch: '*' }).rejects(precondition());
    s3.on(PutObjectCommand, { IfMatch: '"old"' }).rejects(precondition());
    s3.on(GetObjectCommand)
      .resolvesOnce({ ETag: '"old"', Body: body(holder('dead', '2026-04-01T11:59:00Z')) as never })
      .resolves({ ETag: '"new"', Body: body(holder('winner', '2026-04-01T12:01:00Z')) as never });
    const error = await acquireS3Lock(options()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(S3LockHeldError);
    expect((error as Error).message).toContain('held by owner winner');
    expect(puts().filter((p) => p.IfMatch === '"old"')).toHaveLength(1);
    expect(puts().some((p) => p.IfMatch === '"new"')).toBe(false); // never overwrote the winner
  });

  it('an access denial names the key and the grant', async () => {
    s3.on(PutObjectCommand).rejects(s3Error(403, 'AccessDenied'));
    await expect(acquireS3Lock(options())).rejects.toThrow(
      'access denied writing the lock s3://b/offline/_ingests/orders/compactions/_lock.json',
    );
  });

  it('confirm retries a renewal that met a 409 with the same ETag, then renews the lease from now', async () => {
    s3.on(PutObjectCommand, { IfNoneMatch: '*' }).resolves({ ETag: '"e1"' });
    s3.on(PutObjectCommand, { IfMatch: '"e1"' }).rejectsOnce(conflict()).resolves({ ETag: '"e2"' });
    const lock = await acquireS3Lock(options());
    clock.now = new Date('2026-04-01T12:00:30Z');
    await lock.confirm();
    expect(puts().map((p) => p.IfMatch)).toEqual([undefined, '"e1"', '"e1"']);
    expect(lock.holder.expires).toBe('2026-04-01T12:01:30.000Z');
    expect(lock.signal.aborted).toBe(false);
    s3.on(DeleteObjectCommand).resolves({});
    await lock.release();
    expect(s3.commandCalls(DeleteObjectCommand)[0]?.args[0].input.IfMatch).toBe('"e2"');
  });

  it('confirm after a renewal with an unknown outcome reads the lock back: ours, it renews again with the stored ETag', async () => {
    s3.on(PutObjectCommand, { IfNoneMatch: '*' }).resolves({ ETag: '"e1"' });
    s3.on(PutObjectCommand, { IfMatch: '"e1"' }).rejects(new Error('socket hang up'));
    s3.on(PutObjectCommand, { IfMatch: '"landed"' }).resolves({ ETag: '"e3"' });
    const lock = await acquireS3Lock(options());
    s3.on(GetObjectCommand).resolves({
      ETag: '"landed"',
      Body: body(holder(lock.holder.owner, '2026-04-01T12:01:00Z')) as never,
    });
    await lock.confirm();
    expect(puts().map((p) => p.IfMatch)).toEqual([undefined, '"e1"', '"landed"']);
  });

  it('confirm that cannot reach S3 at all throws: no commit on a lease it cannot prove', async () => {
    s3.on(PutObjectCommand, { IfNoneMatch: '*' }).resolves({ ETag: '"e1"' });
    s3.on(PutObjectCommand, { IfMatch: '"e1"' }).rejects(new Error('ECONNRESET'));
    s3.on(GetObjectCommand).rejects(new Error('ECONNRESET'));
    const lock = await acquireS3Lock(options());
    await expect(lock.confirm()).rejects.toThrow(S3LockLostError);
    expect(lock.signal.aborted).toBe(true);
  });

  it('a periodic renewal that fails while the lease has time left keeps the lock; one near the lease’s end gives it up', async () => {
    s3.on(PutObjectCommand, { IfNoneMatch: '*' }).resolves({ ETag: '"e1"' });
    s3.on(PutObjectCommand, { IfMatch: '"e1"' }).rejects(new Error('ECONNRESET'));
    const lock = await acquireS3Lock(options({ renewEveryMs: 5 }));
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(lock.signal.aborted).toBe(false);
    clock.now = new Date('2026-04-01T12:00:55Z'); // 5 s left, below the 10 s margin
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(lock.signal.aborted).toBe(true);
    expect(lock.signal.reason).toBeInstanceOf(S3LockLostError);
    expect((lock.signal.reason as Error).message).toContain(
      'could not be renewed before its lease ran out',
    );
    // The renewals' outcome was unknown: the lock read back is still ours, so release deletes it.
    s3.on(GetObjectCommand).resolves({
      ETag: '"e1"',
      Body: body(holder(lock.holder.owner, '2026-04-01T12:01:00Z')) as never,
    });
    s3.on(DeleteObjectCommand).resolves({});
    expect(await lock.release()).toBe('released');
    expect(s3.commandCalls(DeleteObjectCommand)[0]?.args[0].input.IfMatch).toBe('"e1"');
  });

  it('release retries a 409, treats 412 and 404 as not ours, and never throws', async () => {
    s3.on(PutObjectCommand).resolves({ ETag: '"e1"' });
    s3.on(DeleteObjectCommand).rejectsOnce(conflict()).resolves({});
    expect(await (await acquireS3Lock(options())).release()).toBe('released');
    expect(s3.commandCalls(DeleteObjectCommand)).toHaveLength(2);

    s3.on(DeleteObjectCommand).rejects(precondition());
    s3.on(GetObjectCommand).resolves({
      ETag: '"other"',
      Body: body(holder('someone0else', '2026-04-01T12:01:00Z')) as never,
    });
    expect(await (await acquireS3Lock(options())).release()).toBe('not-ours');
    s3.on(DeleteObjectCommand).rejects(s3Error(404, 'NoSuchKey'));
    expect(await (await acquireS3Lock(options())).release()).toBe('not-ours');
    s3.on(DeleteObjectCommand).rejects(new Error('ECONNRESET'));
    expect(await (await acquireS3Lock(options())).release()).toBe('left-to-expire');
  });

  it('release after a periodic renewal whose answer was lost (it landed) deletes the lock with the ETag it reads back', async () => {
    s3.on(PutObjectCommand, { IfNoneMatch: '*' }).resolves({ ETag: '"e1"' });
    let stored = '';
    s3.on(PutObjectCommand, { IfMatch: '"e1"' }).callsFake(async (input: PutObjectCommandInput) => {
      stored = String(input.Body);
      throw new Error('socket hang up'); // the renewal landed; its answer was lost
    });
    s3.on(GetObjectCommand).callsFake(async () => ({
      ETag: '"renewed"',
      Body: { transformToString: async () => stored },
    }));
    s3.on(DeleteObjectCommand, { IfMatch: '"e1"' }).rejects(precondition());
    s3.on(DeleteObjectCommand, { IfMatch: '"renewed"' }).resolves({});
    const lock = await acquireS3Lock(options({ renewEveryMs: 5 }));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(stored).not.toBe('');
    expect(lock.signal.aborted).toBe(false);
    expect(await lock.release()).toBe('released');
    expect(s3.commandCalls(DeleteObjectCommand).at(-1)?.args[0].input.IfMatch).toBe('"renewed"');
  });

  it('a renewal answered 412 on the SDK’s retry of a put that landed counts as renewed: the stored lock is ours with the new lease', async () => {
    s3.on(PutObjectCommand, { IfNoneMatch: '*' }).resolves({ ETag: '"e1"' });
    let stored = '';
    s3.on(PutObjectCommand, { IfMatch: '"e1"' }).callsFake(async (input: PutObjectCommandInput) => {
      stored = String(input.Body);
      throw precondition(); // the first attempt wrote; the retry met its own write
    });
    s3.on(GetObjectCommand).callsFake(async () => ({
      ETag: '"renewed"',
      Body: { transformToString: async () => stored },
    }));
    const lock = await acquireS3Lock(options());
    clock.now = new Date('2026-04-01T12:00:30Z');
    await lock.confirm();
    expect(lock.signal.aborted).toBe(false);
    expect(lock.holder.expires).toBe('2026-04-01T12:01:30.000Z');
    expect(puts().map((p) => p.IfMatch)).toEqual([undefined, '"e1"']); // not written twice
    s3.on(DeleteObjectCommand).resolves({});
    expect(await lock.release()).toBe('released');
    expect(s3.commandCalls(DeleteObjectCommand)[0]?.args[0].input.IfMatch).toBe('"renewed"');
  });

  it('a periodic renewal answered 412 whose read-back fails keeps the lock while the lease has time left', async () => {
    s3.on(PutObjectCommand, { IfNoneMatch: '*' }).resolves({ ETag: '"e1"' });
    s3.on(PutObjectCommand, { IfMatch: '"e1"' }).rejects(precondition());
    s3.on(GetObjectCommand).rejects(new Error('ECONNRESET'));
    const lock = await acquireS3Lock(options({ renewEveryMs: 5 }));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(lock.signal.aborted).toBe(false);
    await expect(lock.confirm()).rejects.toThrow(S3LockLostError);
  });

  it('release of a lock another run took over leaves that run’s lock (412, read back: not ours)', async () => {
    s3.on(PutObjectCommand).resolves({ ETag: '"e1"' });
    s3.on(DeleteObjectCommand).rejects(precondition());
    s3.on(GetObjectCommand).resolves({
      ETag: '"taken"',
      Body: body(holder('taker0000000', '2026-04-01T12:05:00Z')) as never,
    });
    const lock = await acquireS3Lock(options());
    expect(await lock.release()).toBe('not-ours');
    expect(s3.commandCalls(DeleteObjectCommand).map((c) => c.args[0].input.IfMatch)).toEqual([
      '"e1"',
    ]);
  });

  it('tells S3’s conditional answers apart by status, whatever the error name', () => {
    expect(conditionalFailureOf(s3Error(412, 'Unknown'))).toBe('precondition');
    expect(conditionalFailureOf(s3Error(409, 'Unknown'))).toBe('conflict');
    expect(conditionalFailureOf(s3Error(404, 'Unknown'))).toBe('missing');
    expect(conditionalFailureOf(s3Error(403, 'Unknown'))).toBe('denied');
    expect(conditionalFailureOf(s3Error(500, 'InternalError'))).toBe('unknown');
    expect(conditionalFailureOf(new Error('timeout'))).toBe('unknown');
  });
});
