import { randomBytes } from 'node:crypto';
import { isRunning } from '../process-lock.ts';

/** `local-<pid>-<random>`: a lease holder on this machine, whose process can be checked. */
export function localOwner(): string {
  return `local-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/** A local holder whose process has exited (killed mid-run) gives its lease up at once. */
export function localOwnerGone(owner: string): boolean {
  const match = /^local-(\d+)-/.exec(owner);
  if (!match) return false;
  const pid = Number(match[1]);
  return pid !== process.pid && !isRunning(pid);
}
