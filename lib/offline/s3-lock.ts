import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import {
  DeleteObjectCommand,
  type GetObjectCommandOutput,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { HintedError } from '../hinted-error.ts';
import { getObjectWithS3Time, leaseEndOnS3Clock } from './s3-lock-clock.ts';
import { type ConditionalFailure, conditionalFailureOf } from './s3-lock-errors.ts';

/** Named explicitly: bundles are minified, which renames classes (HintedError's default). */
export class S3LockHeldError extends HintedError {
  override name = 'S3LockHeldError';
}

/** The lease was lost (taken over, or not renewed in time): the work it guarded must not commit. */
export class S3LockLostError extends HintedError {
  override name = 'S3LockLostError';
}

/** What the lock object holds: who holds it, and until when the lease runs unless renewed. */
export interface S3LockHolder {
  /** Random per acquisition; `--break-lock <owner>` names it. */
  readonly owner: string;
  readonly host: string;
  readonly pid: number;
  /** What the lock guards, for the message another run prints. */
  readonly purpose: string;
  readonly started: string;
  /** The holder's own clock: what it shows; a taker times the lease on S3's clock (`leaseMs`). */
  readonly expires: string;
  /** The lease length, run from S3's Last-Modified of the lock (absent in older locks). */
  readonly leaseMs?: number;
}

export interface S3LockOptions {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly key: string;
  readonly purpose: string;
  /** How long the lease runs after each renewal; a holder killed without release blocks this long. */
  readonly leaseMs: number;
  /** Renewal period (default a third of the lease). */
  readonly renewEveryMs?: number;
  /** Take over the lock even before its lease expires, but only if this owner holds it. */
  readonly breakOwner?: string;
  readonly now?: () => Date;
  /** Pause before retrying after a 409 ConditionalRequestConflict (default 50-150 ms, jittered). */
  readonly conflictBackoffMs?: () => number;
  /**
   * How long to wait for another holder to release (or its lease to run out) before giving up
   * with S3LockHeldError; default 0: refuse at once. Timed on this host's monotonic clock.
   */
  readonly waitMs?: number;
  /** How often a waiting taker reads the lock again (default 2 s). */
  readonly pollMs?: number;
  /** Told once, when the taker starts waiting: a line naming the holder and the bound. */
  readonly onWait?: (message: string) => void;
  /** Ends a wait when aborted (a CLI's stop request), throwing its reason; nothing is taken. */
  readonly signal?: AbortSignal;
}

/** A held lock. `signal` aborts (with S3LockLostError) when the lease is lost. */
export interface S3Lock {
  readonly holder: S3LockHolder;
  readonly signal: AbortSignal;
  /**
   * Renews the lease now with `If-Match` on our ETag, which also proves the lock is still ours;
   * throws S3LockLostError otherwise. Call it right before a commit: the lease then has its
   * whole length left for the commit.
   */
  confirm(): Promise<void>;
  /** Stops renewing and deletes the lock if it is still ours (`If-Match`); never throws. */
  release(): Promise<'released' | 'not-ours' | 'left-to-expire'>;
}

/** The leased lock of an S3 compaction per source (a holder killed without release blocks 5 minutes). */
export const defaultLeaseMs = 5 * 60_000;
const attempts = 8;
/** A renewal that cannot reach S3 gives the lease up this long before it would run out. */
const safetyMarginMs = 10_000;

/**
 * Takes the lock object `key` with S3 conditional writes: `If-None-Match: *` creates it only if
 * absent; a lock whose lease has expired (its holder was killed) is taken over with `If-Match`
 * on the ETag just read, so of two takers only one wins (the other gets 412 and reads the
 * winner's lock). A 409 ConditionalRequestConflict (a concurrent write of the same key) is
 * retried. A write whose outcome is unknown (a timeout, a 5xx, or the SDK's own retry of a put
 * that landed, answered 412) is settled by reading the lock back: it is ours if it names our owner.
 * Throws S3LockHeldError naming the holder and when its lease expires.
 */
export async function acquireS3Lock(options: S3LockOptions): Promise<S3Lock> {
  const now = options.now ?? (() => new Date());
  const owner = randomBytes(6).toString('hex');
  const waitMs = Math.max(0, options.waitMs ?? 0);
  const began = performance.now();
  let told = false;
  for (;;) {
    options.signal?.throwIfAborted();
    const outcome = await tryAcquire(options, owner, now);
    if (!('held' in outcome)) return outcome;
    const waited = performance.now() - began;
    if (waited >= waitMs) throw heldError(options, outcome.held, now, waited);
    if (!told) {
      told = true;
      options.onWait?.(
        `${options.purpose} waits up to ${Math.ceil(waitMs / 1000)} s for the lock s3://${options.bucket}/${options.key}, held by ${holderText(outcome.held)}`,
      );
    }
    const pollMs = Math.max(1, options.pollMs ?? 2000);
    await pauseUnlessAborted(Math.min(pollMs, waitMs - waited), options.signal);
  }
}

/** Sleeps `ms`, or less when `signal` aborts meanwhile (the loop then throws its reason). */
function pauseUnlessAborted(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

function holderText(current: CurrentLock): string {
  const holder = current.holder;
  return holder
    ? `owner ${holder.owner} (${holder.purpose}; host ${holder.host}, pid ${holder.pid}, since ${holder.started})`
    : 'an object fstore did not write (unreadable)';
}

/** One round of taking the lock: ours, or the lock another holder has (lease not run out). */
async function tryAcquire(
  options: S3LockOptions,
  owner: string,
  now: () => Date,
): Promise<S3Lock | { readonly held: CurrentLock }> {
  const started = now().toISOString();
  const holderUntil = (): S3LockHolder => ({
    owner,
    host: hostname(),
    pid: process.pid,
    purpose: options.purpose,
    started,
    expires: new Date(now().getTime() + options.leaseMs).toISOString(),
    leaseMs: options.leaseMs,
  });
  for (let attempt = 0; attempt < attempts; attempt++) {
    const holder = holderUntil();
    const created = await putLock(options, holder, { IfNoneMatch: '*' });
    if (created.etag) return new HeldLock(options, holder, created.etag, now);
    if (created.failure === 'conflict') {
      await pause(options);
      continue;
    }
    // 412 (someone holds it) or an unknown outcome: read what is there.
    const current = await readLock(options);
    if (!current) continue; // released meanwhile
    if (current.holder?.owner === owner) return new HeldLock(options, holder, current.etag, now);
    if (!mayTakeOver(current, options, now)) return { held: current };
    const taken = await putLock(options, holder, { IfMatch: current.etag });
    if (taken.etag) return new HeldLock(options, holder, taken.etag, now);
    if (taken.failure === 'conflict') await pause(options);
    // 412/404: another taker won or the holder released; the next round reads which.
  }
  throw new S3LockHeldError(
    `could not take the lock s3://${options.bucket}/${options.key} (${options.purpose}) after ${attempts} attempts: other runs kept writing it`,
    'run again in a minute',
  );
}

interface CurrentLock {
  readonly etag: string;
  /** Absent when the object is not a lock fstore wrote (damaged or foreign). */
  readonly holder?: S3LockHolder;
  /** When S3 last wrote it (each renewal writes it): the lease runs from there. */
  readonly lastModified?: Date;
  /** S3's clock when it answered the read (its `Date` header). */
  readonly s3Time?: Date;
}

function mayTakeOver(current: CurrentLock, options: S3LockOptions, now: () => Date): boolean {
  const owner = current.holder?.owner ?? 'unreadable';
  if (options.breakOwner !== undefined && options.breakOwner === owner) return true;
  const lease = leaseClock(current, options, now);
  return lease.end <= lease.now;
}

/**
 * When the lease of `current` runs out and what time it is: both on S3's clock (Last-Modified
 * and the answer's Date), so hosts' clocks are never compared. An endpoint that sends no Date
 * falls back to the expiry the holder wrote against this host's clock.
 */
function leaseClock(
  current: CurrentLock,
  options: S3LockOptions,
  now: () => Date,
): { readonly end: number; readonly now: number } {
  const written = current.holder?.leaseMs;
  const leaseMs =
    written !== undefined && Number.isFinite(written) && written > 0 ? written : options.leaseMs;
  if (current.s3Time && current.lastModified)
    return {
      end: leaseEndOnS3Clock(current.lastModified, leaseMs),
      now: current.s3Time.getTime(),
    };
  if (current.holder) {
    const at = Date.parse(current.holder.expires);
    return { end: Number.isNaN(at) ? 0 : at, now: now().getTime() };
  }
  return { end: (current.lastModified?.getTime() ?? 0) + leaseMs, now: now().getTime() };
}

function heldError(
  options: S3LockOptions,
  current: CurrentLock,
  now: () => Date,
  waitedMs: number,
): S3LockHeldError {
  const where = `s3://${options.bucket}/${options.key}`;
  const expires = new Date(leaseClock(current, options, now).end).toISOString();
  const holder = current.holder;
  const waited = waitedMs >= 1000 ? ` (waited ${Math.round(waitedMs / 1000)} s)` : '';
  if (!holder)
    return new S3LockHeldError(
      `${options.purpose} is locked by ${where}, which is not a lock fstore wrote (unreadable); it counts as expired at ${expires}${waited}`,
      'run again after that time, or now with --break-lock unreadable if no other fstore compact is running',
    );
  return new S3LockHeldError(
    `${options.purpose} ${holder.purpose === options.purpose ? 'is already running:' : `cannot run now: ${holder.purpose} is already running;`} the lock ${where} is held by owner ${holder.owner} (host ${holder.host}, pid ${holder.pid}, since ${holder.started}); its lease expires at ${expires} unless renewed${waited}`,
    `wait for that run to finish. If it was killed, run again after ${expires} (an expired lease is taken over), or now with --break-lock ${holder.owner} once you are sure that process is gone`,
  );
}

class HeldLock implements S3Lock {
  readonly #controller = new AbortController();
  readonly #timer: NodeJS.Timeout;
  #etag: string;
  #holder: S3LockHolder;
  /** Renewals and the release run one after another. */
  #queue: Promise<unknown> = Promise.resolve();
  #released = false;

  constructor(
    private readonly options: S3LockOptions,
    holder: S3LockHolder,
    etag: string,
    private readonly now: () => Date,
  ) {
    this.#holder = holder;
    this.#etag = etag;
    const every = options.renewEveryMs ?? Math.max(1, Math.floor(options.leaseMs / 3));
    this.#timer = setInterval(() => {
      this.#serially(() => this.#renew(false)).catch(() => undefined); // the signal reports it
    }, every);
    this.#timer.unref();
  }

  get holder(): S3LockHolder {
    return this.#holder;
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  confirm(): Promise<void> {
    return this.#serially(() => this.#renew(true));
  }

  release(): Promise<'released' | 'not-ours' | 'left-to-expire'> {
    clearInterval(this.#timer);
    return this.#serially(async () => {
      if (this.#released) return 'released' as const;
      this.#released = true;
      // Even after a lost lease: a renewal whose answer was lost may have left the lock ours.
      return this.#delete();
    });
  }

  #serially<T>(step: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(step, step);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /**
   * One renewal (`If-Match` on our ETag). A periodic one (`strict` false) lets a passing failure
   * go while the lease has time left; `confirm` (strict) proves the lock is ours or throws.
   * After a failure whose cause is not known for sure (a timeout, a 5xx, or a 412 answering the
   * SDK's retry of a put that landed) it reads the lock back: ours with this renewal's expiry
   * means renewed; ours otherwise, its ETag is taken and the put tried again.
   */
  async #renew(strict: boolean): Promise<void> {
    this.signal.throwIfAborted();
    if (this.#released) throw this.#lost('it was released');
    let failed = '';
    for (let attempt = 0; attempt < attempts; attempt++) {
      const holder = {
        ...this.#holder,
        expires: new Date(this.now().getTime() + this.options.leaseMs).toISOString(),
      };
      const put = await putLock(this.options, holder, { IfMatch: this.#etag });
      if (put.failure === undefined) {
        this.#etag = put.etag;
        this.#holder = holder;
        return;
      }
      failed = put.message;
      if (put.failure === 'conflict') {
        await pause(this.options);
        continue;
      }
      let current: CurrentLock | undefined;
      try {
        current = await readLock(this.options);
      } catch (error) {
        failed = error instanceof Error ? error.message : String(error);
        if (!strict) return this.#keepWhileLeaseLasts(failed);
        await pause(this.options);
        continue;
      }
      if (current?.holder?.owner === this.#holder.owner) {
        this.#etag = current.etag;
        if (current.holder.expires === holder.expires) {
          this.#holder = holder; // this renewal landed; its answer was lost
          return;
        }
        if (put.failure === 'unknown' && !strict) return this.#keepWhileLeaseLasts(failed);
        continue;
      }
      if (put.failure === 'unknown' && current === undefined) {
        await pause(this.options);
        continue;
      }
      throw this.#lost(
        current?.holder
          ? `owner ${current.holder.owner} (host ${current.holder.host}, pid ${current.holder.pid}) took it over`
          : 'the lock object was removed or replaced',
      );
    }
    throw this.#lost(`it could not be renewed (${failed})`);
  }

  /** A periodic renewal that failed: the next one tries again, unless the lease is nearly out. */
  #keepWhileLeaseLasts(failed: string): void {
    if (Date.parse(this.#holder.expires) - this.now().getTime() < safetyMarginMs)
      throw this.#lost(`it could not be renewed before its lease ran out (${failed})`);
  }

  #lost(why: string): S3LockLostError {
    const error = new S3LockLostError(
      `${this.options.purpose} lost its lock s3://${this.options.bucket}/${this.options.key}: ${why}; nothing is committed after this`,
      'run again: another run may be compacting this source now',
    );
    if (!this.signal.aborted) this.#controller.abort(error);
    return error;
  }

  async #delete(): Promise<'released' | 'not-ours' | 'left-to-expire'> {
    for (let attempt = 0; attempt < attempts; attempt++) {
      try {
        await this.options.s3.send(
          new DeleteObjectCommand({
            Bucket: this.options.bucket,
            Key: this.options.key,
            IfMatch: this.#etag,
          }),
        );
        return 'released';
      } catch (error) {
        const failure = conditionalFailureOf(error);
        if (failure === 'missing') return 'not-ours'; // already gone
        if (failure === 'conflict') await pause(this.options);
        else if (failure !== 'precondition') return 'left-to-expire';
        else {
          // 412: another ETag. Ours still if a renewal landed with its answer lost.
          const current = await readLock(this.options).catch(() => null);
          if (current === null) return 'left-to-expire';
          if (current?.holder?.owner !== this.#holder.owner) return 'not-ours';
          this.#etag = current.etag;
        }
      }
    }
    return 'left-to-expire';
  }
}

type PutOutcome =
  | { readonly etag: string; readonly failure?: undefined }
  | { readonly etag?: undefined; readonly failure: ConditionalFailure; readonly message: string };

async function putLock(
  options: S3LockOptions,
  holder: S3LockHolder,
  condition: { readonly IfNoneMatch: '*' } | { readonly IfMatch: string },
): Promise<PutOutcome> {
  try {
    const response = await options.s3.send(
      new PutObjectCommand({
        Bucket: options.bucket,
        Key: options.key,
        Body: `${JSON.stringify(holder)}\n`,
        ContentType: 'application/json',
        ...condition,
      }),
    );
    if (response.ETag) return { etag: response.ETag };
    return { failure: 'unknown', message: 'S3 answered the put without an ETag' };
  } catch (error) {
    const failure = conditionalFailureOf(error);
    if (failure === 'denied') throw deniedError(options, 'writing', error);
    return { failure, message: error instanceof Error ? error.message : String(error) };
  }
}

async function readLock(options: S3LockOptions): Promise<CurrentLock | undefined> {
  let response: GetObjectCommandOutput;
  let s3Time: Date | undefined;
  try {
    ({ output: response, s3Time } = await getObjectWithS3Time(options.s3, {
      Bucket: options.bucket,
      Key: options.key,
    }));
  } catch (error) {
    const failure = conditionalFailureOf(error);
    if (failure === 'missing') return undefined;
    if (failure === 'denied') throw deniedError(options, 'reading', error);
    throw new S3LockHeldError(
      `reading the lock s3://${options.bucket}/${options.key} failed: ${error instanceof Error ? error.message : String(error)}`,
      'run again',
      { cause: error },
    );
  }
  const text = (await response.Body?.transformToString()) ?? '';
  const etag = response.ETag ?? '';
  const holder = parseHolder(text);
  return {
    etag,
    ...(holder ? { holder } : {}),
    ...(response.LastModified ? { lastModified: response.LastModified } : {}),
    ...(s3Time ? { s3Time } : {}),
  };
}

function parseHolder(text: string): S3LockHolder | undefined {
  try {
    const value = JSON.parse(text) as Partial<S3LockHolder>;
    if (
      typeof value.owner === 'string' &&
      typeof value.expires === 'string' &&
      typeof value.started === 'string'
    )
      return {
        owner: value.owner,
        host: String(value.host ?? '?'),
        pid: Number(value.pid ?? 0),
        purpose: String(value.purpose ?? '?'),
        started: value.started,
        expires: value.expires,
        ...(typeof value.leaseMs === 'number' ? { leaseMs: value.leaseMs } : {}),
      };
  } catch {
    // not JSON: not a lock fstore wrote
  }
  return undefined;
}

function deniedError(options: S3LockOptions, doing: string, cause: unknown): S3LockHeldError {
  return new S3LockHeldError(
    `access denied ${doing} the lock s3://${options.bucket}/${options.key} (${options.purpose})`,
    'the caller needs s3:GetObject, s3:PutObject and s3:DeleteObject on that key (fstore iam-policy --for compact allows them)',
    { cause },
  );
}

function pause(options: S3LockOptions): Promise<void> {
  const ms = options.conflictBackoffMs?.() ?? 50 + Math.random() * 100;
  return new Promise((resolve) => setTimeout(resolve, ms));
}
