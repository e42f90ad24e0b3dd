import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { quarantineDir } from '../data-paths.ts';
import { writeDurably } from '../push/write-durably.ts';
import { type ErasureKey, entityKeyMatches } from './erasure-keys.ts';

/** Quarantined rows of the keys in one quarantine file. */
export interface QuarantineErasure {
  /** Relative to the quarantine folder: `<view>/<runId>.jsonl`. */
  readonly file: string;
  readonly rows: number;
}

/**
 * Removes the quarantined rows (`{ view, runId, reasons, row }` JSON lines under
 * `.fstore/<env>/quarantine/`, materialization's and `push --follow`'s) whose row holds one of
 * `keys`, rewriting each file that had some in one step (temporary file, fsync, rename); a file
 * left empty is deleted. A line that is not JSON (a write cut short) is removed when it contains
 * one of the values, so a damaged line cannot keep an erased entity. With `dryRun`, only counts.
 * Callers hold the online store's lock, which materialization holds while it appends.
 */
export async function eraseQuarantinedRows(
  dataDir: string,
  env: string,
  keys: readonly ErasureKey[],
  dryRun: boolean,
): Promise<QuarantineErasure[]> {
  const root = quarantineDir(dataDir, env);
  const found: QuarantineErasure[] = [];
  for (const file of await jsonLinesFiles(root)) {
    const text = await readFile(file, 'utf8');
    const kept: string[] = [];
    let removed = 0;
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      if (quarantineLineHoldsKey(line, keys)) removed++;
      else kept.push(line);
    }
    if (removed === 0) continue;
    found.push({ file: path.relative(root, file).split(path.sep).join('/'), rows: removed });
    if (dryRun) continue;
    if (kept.length === 0) await rm(file, { force: true });
    else await writeDurably(file, `${kept.join('\n')}\n`);
  }
  return found;
}

/**
 * Whether one quarantined JSON line holds one of `keys`: in its `row` (materialization, a push
 * row) or its `row.data` (a stream record refused before it became a row: the record as sent,
 * or its text when it was not JSON). A line or a `data` text that does not parse is matched by the
 * values' text, so a damaged line cannot keep an erased entity.
 */
export function quarantineLineHoldsKey(line: string, keys: readonly ErasureKey[]): boolean {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return keys.some((key) => line.includes(key.value));
  }
  const { row } = (parsed ?? {}) as { row?: unknown };
  // A stream's refused record: `row` is `{ kinesis, data }`, `data` the record as sent.
  const data = (row as { data?: unknown } | null | undefined)?.data;
  if (typeof data === 'string' && keys.some((key) => data.includes(key.value))) return true;
  return [row, data].some((held) => objectHoldsKey(held, keys));
}

function objectHoldsKey(held: unknown, keys: readonly ErasureKey[]): boolean {
  if (typeof held !== 'object' || held === null || Array.isArray(held)) return false;
  const parts: Record<string, string> = {};
  for (const key of keys) {
    const value = (held as Record<string, unknown>)[key.key];
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint')
      parts[key.key] = String(value);
  }
  return entityKeyMatches(parts, keys);
}

async function jsonLinesFiles(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true }).catch(() => []);
  const files: string[] = [];
  for (const entry of entries) {
    const full = path.join(folder, entry.name);
    if (entry.isDirectory()) files.push(...(await jsonLinesFiles(full)));
    else if (entry.isFile() && entry.name.endsWith('.jsonl')) files.push(full);
  }
  return files.sort();
}
