import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { formatMicros, parseEpochMicros } from '../epoch-micros.ts';
import { syncFolder } from '../offline/ingest-manifest.ts';
import { offlineRoot } from '../offline/local-layout.ts';
import type { RuntimeSource } from '../registry/runtime-projection.ts';
import type { PushRow } from './validate-push-rows.ts';

/**
 * The local offline half of a push (docs/adr/0015-push.md): each push's rows become one JSON-lines
 * file `offline/_push/<source>/<pushId>.jsonl`, durable before the push answers, outside every
 * reader's files until `compactPushLogs` ingests it under ingest's commit rule.
 */
export function pushLogDir(dataDir: string, env: string, source: string): string {
  return path.join(offlineRoot(dataDir, env), '_push', source);
}

/**
 * Writes the rows as one log file: a temporary name, fsync, rename, fsync of the folder, so a
 * crash leaves the whole file or none (a `.tmp` left behind is never read as a log). Columns
 * carry their raw names (ingest applies the source's `fieldMapping`), timestamps UTC with
 * microseconds, int64 beyond 2^53 as text. Returns the log's path.
 */
export async function appendPushLog(
  dataDir: string,
  env: string,
  source: RuntimeSource,
  rows: readonly PushRow[],
): Promise<string> {
  const dir = pushLogDir(dataDir, env, source.name);
  await mkdir(dir, { recursive: true });
  const stamp = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, '');
  const file = path.join(dir, `${stamp}-${randomBytes(6).toString('hex')}.jsonl`);
  const temporary = `${file}.tmp`;
  const rawName = new Map(Object.entries(source.fieldMapping).map(([raw, name]) => [name, raw]));
  const text = rows
    .map((row) =>
      JSON.stringify(
        Object.fromEntries(
          source.schema.map((c) => [
            rawName.get(c.name) ?? c.name,
            logValue(c.type, row.values[c.name]),
          ]),
        ),
      ),
    )
    .join('\n');
  try {
    const handle = await open(temporary, 'wx');
    try {
      await handle.writeFile(`${text}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
  } finally {
    await rm(temporary, { force: true });
  }
  await syncFolder(dir);
  return file;
}

/** Committed-to-disk logs of a source waiting for compaction, oldest first. */
export async function pendingPushLogs(
  dataDir: string,
  env: string,
  source: string,
): Promise<string[]> {
  const dir = pushLogDir(dataDir, env, source);
  const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[];
    throw error;
  });
  return names
    .filter((n) => n.endsWith('.jsonl'))
    .sort()
    .map((n) => path.join(dir, n));
}

function logValue(type: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (type === 'timestamp' && typeof value === 'string') {
    const micros = parseEpochMicros(value);
    return micros === undefined ? value : formatMicros(micros);
  }
  return value;
}
