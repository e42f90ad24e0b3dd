import { InvalidArgumentError, Option } from 'commander';
import { UsageError } from '../cli-error.ts';

/** The S3 lock's lease (s3-lock.ts): a holder killed without release blocks this long. */
const defaultLockWaitSeconds = 300;

/**
 * `--lock-wait <seconds>` (env FSTORE_LOCK_WAIT): how long a command that commits under a
 * source's S3 compaction lock waits for a retention, compaction or delete holding it. The
 * default is one lease, so a holder killed without releasing is outlasted.
 */
export function lockWaitOption(): Option {
  return new Option(
    '--lock-wait <seconds>',
    `AWS environments: wait at most this long for a source's lock held by a retention, compaction or delete (default ${defaultLockWaitSeconds}; 0 refuses at once)`,
  )
    .env('FSTORE_LOCK_WAIT')
    .argParser((text: string) => {
      const seconds = Number(text);
      // At most an hour: the retention takes an upload no record names for a killed ingest's
      // leftover once it is a day old, so a commit must come well before that.
      if (!/^\d+(\.\d+)?$/.test(text.trim()) || !Number.isFinite(seconds) || seconds > 3600)
        throw new InvalidArgumentError(`"${text}" is not a number of seconds between 0 and 3600`);
      return seconds;
    });
}

/** Milliseconds to wait for a lock, from `--lock-wait` (seconds) or the default. */
export function lockWaitMs(seconds: number | undefined): number {
  return Math.round((seconds ?? defaultLockWaitSeconds) * 1000);
}

export function breakLockOption(): Option {
  return new Option(
    '--break-lock <owner>',
    'AWS environments: take over a source’s lock from this owner (named in the lock error) before its lease expires; only once that run is gone',
  );
}

/** `--break-lock` only where there is an S3 lock to break, and only with an owner's id. */
export function checkBreakLock(owner: string | undefined, local: boolean): void {
  if (owner === undefined) return;
  if (local)
    throw new UsageError(
      '--break-lock applies to AWS environments (--env <aws>): the local store has no S3 lock',
    );
  if (!/^([0-9a-f]{12}|unreadable)$/.test(owner))
    throw new UsageError(
      `--break-lock must name the lock's owner as the lock error shows it (12 hex digits, or "unreadable"); got "${owner}"`,
    );
}
