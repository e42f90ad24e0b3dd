import { createHash } from 'node:crypto';
import { appendFile, open, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pushLogDir } from './push-log.ts';

/**
 * The content hashes of push logs ingested inside a batch, `_push/<source>/_batched-logs.txt`
 * (`{"sha256", "at"}` per line). A log ingested alone is found by its hash among the committed
 * ingests; one ingested in a batch is not (the ingest holds the batch's hash), so without this
 * a retried push (a new log with the same content) would land offline twice. Entries older than
 * a day are dropped when the file passes 16 MiB: retries come within minutes.
 */
const keepMs = 24 * 60 * 60 * 1000;
const pruneAboveBytes = 16 * 1024 * 1024;

function ledgerPath(dataDir: string, env: string, source: string): string {
  return path.join(pushLogDir(dataDir, env, source), '_batched-logs.txt');
}

export function contentHash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export async function ingestedLogHashes(
  dataDir: string,
  env: string,
  source: string,
): Promise<Set<string>> {
  const text = await readFile(ledgerPath(dataDir, env, source), 'utf8').catch(
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return '';
      throw error;
    },
  );
  const hashes = new Set<string>();
  for (const line of text.split('\n')) {
    // A line cut by a crash mid-append is skipped: its logs are still there to be found again.
    const hash = /^\{"sha256":"([0-9a-f]{64})"/.exec(line)?.[1];
    if (hash) hashes.add(hash);
  }
  return hashes;
}

/** Records hashes durably (appended and fsynced) before the caller removes their logs. */
export async function recordIngestedLogs(
  dataDir: string,
  env: string,
  source: string,
  hashes: readonly string[],
  nowMs = Date.now(),
): Promise<void> {
  if (hashes.length === 0) return;
  const file = ledgerPath(dataDir, env, source);
  const at = new Date(nowMs).toISOString();
  // A newline first ends a line a crash may have cut.
  await appendFile(
    file,
    `\n${hashes.map((sha256) => JSON.stringify({ sha256, at })).join('\n')}\n`,
  );
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
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    const handle = await open(temporary, 'w');
    try {
      await handle.writeFile(`${kept.join('\n')}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
  } finally {
    await rm(temporary, { force: true });
  }
}
