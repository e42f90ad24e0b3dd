import {
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  acquireS3Lock,
  S3LockHeldError,
  type S3LockOptions,
} from '../../../lib/offline/s3-lock.ts';

// A taker that may wait (`waitMs`): bounded, told once who it waits for, refused naming the holder.
const s3 = mockClient(S3Client);
beforeEach(() => s3.reset());
const key = 'offline/_ingests/orders/compactions/_lock.json';
const clock = new Date('2026-04-01T12:00:00Z');
const options = (extra: Partial<S3LockOptions> = {}): S3LockOptions => ({
  s3: new S3Client({ region: 'eu-west-1' }),
  bucket: 'b',
  key,
  purpose: 'the commit of ingest i1 into source "orders"',
  leaseMs: 60_000,
  now: () => clock,
  conflictBackoffMs: () => 0,
  pollMs: 5,
  ...extra,
});
const precondition = () =>
  new S3ServiceException({
    name: 'PreconditionFailed',
    $fault: 'client',
    $metadata: { httpStatusCode: 412 },
  });
const missing = () =>
  new S3ServiceException({
    name: 'NoSuchKey',
    $fault: 'client',
    $metadata: { httpStatusCode: 404 },
  });
const retentionLock = {
  ETag: '"held"',
  Body: {
    transformToString: async () =>
      JSON.stringify({
        owner: 'a1b2c3d4e5f6',
        host: 'lambda-1',
        pid: 8,
        purpose: 'the retention of source "orders"',
        started: '2026-04-01T11:59:00.000Z',
        expires: '2026-04-01T12:04:00.000Z',
      }),
  } as never,
};

describe('waiting for the S3 lock (waitMs)', () => {
  it('takes the lock once its holder releases it, telling once whom it waits for', async () => {
    let reads = 0;
    s3.on(PutObjectCommand).callsFake(async () => {
      if (reads < 3) throw precondition();
      return { ETag: '"mine"' };
    });
    s3.on(GetObjectCommand).callsFake(async () => {
      reads++;
      if (reads < 3) return retentionLock;
      throw missing();
    });
    const told: string[] = [];
    const lock = await acquireS3Lock(options({ waitMs: 10_000, onWait: (m) => told.push(m) }));
    expect(lock.holder.purpose).toBe('the commit of ingest i1 into source "orders"');
    expect(told).toEqual([
      `the commit of ingest i1 into source "orders" waits up to 10 s for the lock s3://b/${key}, held by owner a1b2c3d4e5f6 (the retention of source "orders"; host lambda-1, pid 8, since 2026-04-01T11:59:00.000Z)`,
    ]);
    await lock.release();
  });

  it('gives up after waitMs with the holder, what it does and --break-lock, never writing over it', async () => {
    s3.on(PutObjectCommand).rejects(precondition());
    s3.on(GetObjectCommand).resolves(retentionLock);
    const error = await acquireS3Lock(options({ waitMs: 50 })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(S3LockHeldError);
    expect((error as S3LockHeldError).message).toContain(
      `the commit of ingest i1 into source "orders" cannot run now: the retention of source "orders" is already running; the lock s3://b/${key} is held by owner a1b2c3d4e5f6 (host lambda-1, pid 8`,
    );
    expect((error as S3LockHeldError).hint).toContain('--break-lock a1b2c3d4e5f6');
    expect(s3.commandCalls(GetObjectCommand).length).toBeGreaterThan(1); // it read again
    expect(
      s3.commandCalls(PutObjectCommand).every((c) => c.args[0].input.IfNoneMatch === '*'),
    ).toBe(true);
  });

  it('refuses at once without waitMs (one read of the holder)', async () => {
    s3.on(PutObjectCommand).rejects(precondition());
    s3.on(GetObjectCommand).resolves(retentionLock);
    const told: string[] = [];
    await expect(acquireS3Lock(options({ onWait: (m) => told.push(m) }))).rejects.toThrow(
      S3LockHeldError,
    );
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(1);
    expect(told).toEqual([]);
  });
});
