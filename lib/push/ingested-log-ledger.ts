import { createHash } from 'node:crypto';
import { appendFile, open, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  maxIdempotencyExpirySeconds,
  maxInProgressExpirySeconds,
} from './push-idempotency-table.ts';
import { pushLogDir } from './push-log.ts';
import { writeDurably } from './write-durably.ts';

/**
 * The push ids compaction ingested, `_push/<source>/_ingested-pushes.txt` (`{"push", "at"}` per
 * line), recorded after each commit and before the logs are removed: a later log with an id
 * found here (the retry of a keyed push whose answer was lost) is removed, not ingested again.
 * A crash between a commit and this record is covered by the committed batch or log itself
 * (compact-push-logs.ts records it on the next run). When the file passes 16 MiB, entries are
 * dropped once older than any key can be retried: the longest key expiry (a day, capped where
 * it is set) plus the longest a push may hold its key in progress (its retry runs again after
 * that, with the same push id, and its key's record expires a day after that run).
 */
const keepMs = (maxIdempotencyExpirySeconds + maxInProgressExpirySeconds) * 1000;
const defaultPruneAboveBytes = 16 * 1024 * 1024;

function ledgerPath(dataDir: string, env: string, source: string): string {
  return path.join(pushLogDir(dataDir, env, source), '_ingested-pushes.txt');
}

/**
 * Before push ids, batches recorded their logs' content hashes in `_batched-logs.txt`; a log
 * without a push id (written then) whose content is listed there was ingested by that fstore.
 */
function legacyLedgerPath(dataDir: string, env: string, source: string): string {
  return path.join(pushLogDir(dataDir, env, source), '_batched-logs.txt');
}

export function contentHash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export async function ingestedPushIds(
  dataDir: string,
  env: string,
  source: string,
): Promise<Set<string>> {
  return matches(await readLedger(ledgerPath(dataDir, env, source)), /^\{"push":"([0-9a-f]{32})"/);
}

/** Content hashes of id-less logs an older fstore ingested in a batch. */
export async function legacyIngestedLogHashes(
  dataDir: string,
  env: string,
  source: string,
): Promise<Set<string>> {
  return matches(
    await readLedger(legacyLedgerPath(dataDir, env, source)),
    /^\{"sha256":"([0-9a-f]{64})"/,
  );
}

async function readLedger(file: string): Promise<string> {
  return readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return '';
    throw error;
  });
}

function matches(text: string, pattern: RegExp): Set<string> {
  const found = new Set<string>();
  for (const line of text.split('\n')) {
    // A line cut by a crash mid-append is skipped: its logs are still there to be found again.
    const value = pattern.exec(line)?.[1];
    if (value) found.add(value);
  }
  return found;
}

/** Records push ids durably (appended and fsynced) before the caller removes their logs. */
export async function recordIngestedPushes(
  dataDir: string,
  env: string,
  source: string,
  pushIds: readonly string[],
  nowMs = Date.now(),
  /** The ledger's size past which old entries are dropped (tests make it small). */
  { pruneAboveBytes = defaultPruneAboveBytes }: { pruneAboveBytes?: number } = {},
): Promise<void> {
  if (pushIds.length === 0) return;
  const file = ledgerPath(dataDir, env, source);
  const at = new Date(nowMs).toISOString();
  // A newline first ends a line a crash may have cut.
  await appendFile(file, `\n${pushIds.map((push) => JSON.stringify({ push, at })).join('\n')}\n`);
  const handle = await open(file, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  if (((await stat(file)).size ?? 0) > pruneAboveBytes) await prune(file, nowMs);
}

async function prune(file: string, nowMs: number): Promise<void> {
  const kept = (await readFile(file, 'utf8')).split('\n').filter((line) => {
    const at = /"at":"([^"]+)"/.exec(line)?.[1];
    return at !== undefined && nowMs - Date.parse(at) < keepMs;
  });
  await writeDurably(file, `${kept.join('\n')}\n`);
}
