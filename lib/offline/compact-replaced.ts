import { rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { parseDuration } from '../definitions/duration.ts';
import {
  type ManifestState,
  type ReplacedFiles,
  readManifestState,
  replaceManifest,
} from './ingest-manifest.ts';

/**
 * How long a compaction keeps the files it replaced. Readers take no lock: a training set lists
 * the committed files when it renders its SQL and opens them later, so files deleted at the
 * commit would vanish under it. Kept this long, a read that started before the commit finishes.
 */
export const defaultKeepReplacedMs = 60 * 60_000;

/** `0`, or a duration such as `90s`, `15m`, `2h`, as milliseconds; throws naming `what` otherwise. */
export function parseKeepDuration(text: string, what: string): number {
  if (text.trim() === '0') return 0;
  const seconds = parseDuration(text.trim());
  if (seconds === undefined)
    throw new RangeError(
      `${what} must be 0 or a duration such as 90s, 15m, 2h or 1d; got "${text}"`,
    );
  return seconds * 1000;
}

/** The manifest line of the files one compaction replaced, kept until `at + keepMs`. */
export function replacedFilesEntry(
  offlineRoot: string,
  compactionId: string,
  files: readonly string[],
  keepMs: number,
  now: number = Date.now(),
): ReplacedFiles {
  return {
    kind: 'replaced-files',
    replacedBy: compactionId,
    at: new Date(now).toISOString(),
    keepUntil: new Date(now + keepMs).toISOString(),
    files: files.map((file) => path.relative(offlineRoot, file).split(path.sep).join('/')),
  };
}

export function isExpired(entry: ReplacedFiles, now: number = Date.now()): boolean {
  return Date.parse(entry.keepUntil) <= now;
}

/** The state without the replaced files whose time is up, and those entries. */
export function withoutExpired(
  state: ManifestState,
  now: number = Date.now(),
): { kept: ManifestState; expired: ReplacedFiles[] } {
  return {
    kept: { records: state.records, replaced: state.replaced.filter((e) => !isExpired(e, now)) },
    expired: state.replaced.filter((e) => isExpired(e, now)),
  };
}

/**
 * Deletes the files of `entries` (best effort) and the partition folders they leave empty;
 * returns how many could not be deleted. Files already gone count as deleted.
 */
export async function deleteReplacedFiles(
  offlineRoot: string,
  entries: readonly ReplacedFiles[],
): Promise<number> {
  const files = entries.flatMap((e) => e.files.map((f) => path.join(offlineRoot, f)));
  const results = await Promise.allSettled(files.map((file) => rm(file, { force: true })));
  for (const folder of new Set(files.map((file) => path.dirname(file))))
    await rmdir(folder).catch(() => undefined);
  return results.filter((r) => r.status === 'rejected').length;
}

/**
 * For a caller holding the store's write lock: deletes the replaced files whose time is up,
 * then drops their lines from the manifest (in that order, so a crash between leaves lines
 * naming files already gone, which the next call drops). Returns the files deleted.
 */
export async function removeExpiredReplacedFiles(
  offlineRoot: string,
  tag: string,
  now: number = Date.now(),
): Promise<{ removed: readonly string[]; notDeleted: number }> {
  const state = await readManifestState(offlineRoot);
  if (!state) return { removed: [], notDeleted: 0 };
  const { kept, expired } = withoutExpired(state, now);
  if (expired.length === 0) return { removed: [], notDeleted: 0 };
  const notDeleted = await deleteReplacedFiles(offlineRoot, expired);
  if (notDeleted === 0) await replaceManifest(offlineRoot, kept, `${tag}-expired`);
  return {
    removed: expired.flatMap((e) => e.files.map((f) => path.join(offlineRoot, f))),
    notDeleted,
  };
}

/** Drops the manifest lines of replaced files whose time is up (their files already deleted). */
export async function forgetExpiredReplacedFiles(
  offlineRoot: string,
  tag: string,
  now: number = Date.now(),
): Promise<void> {
  const state = await readManifestState(offlineRoot);
  if (!state) return;
  const { kept, expired } = withoutExpired(state, now);
  if (expired.length > 0) await replaceManifest(offlineRoot, kept, `${tag}-expired`);
}
