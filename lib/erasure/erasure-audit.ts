import { mkdir, readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import path from 'node:path';
import { envDataDir } from '../data-paths.ts';
import { writeDurably } from '../push/write-durably.ts';
import { auditKeyHashScheme, hashErasureKeys } from './audit-key-hash.ts';
import type { ErasureKey } from './erasure-keys.ts';

/** `.fstore/<env>/audit/deletes.jsonl`: one JSON line per `fstore delete`. */
export function erasureAuditPath(dataDir: string, env: string): string {
  return path.join(envDataDir(dataDir, env), 'audit', 'deletes.jsonl');
}

/** One delete as the audit keeps it: who, when, hashed keys and counts; never a key's value. */
export interface ErasureAuditEntry {
  readonly kind: 'entity-delete';
  readonly at: string;
  readonly who: string;
  readonly env: string;
  /**
   * How `keys[].hash` was made: HMAC-SHA256 under the environment's audit secret
   * (hashErasureKeys). Absent on lines written before it: plain `sha256:` hashes.
   */
  readonly keyHash?: typeof auditKeyHashScheme;
  readonly keys: readonly { readonly key: string; readonly hash: string }[];
  readonly offline: readonly {
    readonly source: string;
    readonly rows: number;
    readonly files: number;
    /** Compaction-replaced files kept for late readers that held the keys, deleted. */
    readonly replacedFiles?: number;
  }[];
  readonly quarantine: readonly { readonly file: string; readonly rows: number }[];
  readonly online: readonly { readonly view: string; readonly items: number }[];
  readonly runningTotalsRemoved: readonly string[];
  /** Snapshots that pinned rows deleted here: training sets read as of them no longer reproduce. */
  readonly snapshotsAffected: readonly string[];
}

/** The OS user running this process (`USER` when the OS cannot say). */
export function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? process.env.USERNAME ?? 'unknown';
  }
}

/** The audit's `keyHash` and `keys` of a delete, hashed under the environment's `secret`. */
export function auditKeys(
  keys: readonly ErasureKey[],
  secret: Uint8Array,
): Pick<ErasureAuditEntry, 'keyHash' | 'keys'> {
  return { keyHash: auditKeyHashScheme, keys: hashErasureKeys(keys, secret) };
}

/**
 * Adds `entry` as the audit file's last line in one step: the whole file is written again under
 * a temporary name, fsynced and renamed (writeDurably), so a crash leaves the old audit or the
 * new one, never a torn line. The file is small (one line per delete).
 */
export async function appendErasureAudit(
  dataDir: string,
  env: string,
  entry: ErasureAuditEntry,
): Promise<string> {
  const file = erasureAuditPath(dataDir, env);
  await mkdir(path.dirname(file), { recursive: true });
  const before = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return '';
    throw error;
  });
  const prefix = before === '' || before.endsWith('\n') ? before : `${before}\n`;
  await writeDurably(file, `${prefix}${JSON.stringify(entry)}\n`);
  return file;
}

/**
 * The audit's entries, oldest first (none when nothing was ever deleted); a line that does not
 * parse is skipped. For replays and snapshots to say that rows they read were deleted since.
 */
export async function readErasureAudit(dataDir: string, env: string): Promise<ErasureAuditEntry[]> {
  const text = await readFile(erasureAuditPath(dataDir, env), 'utf8').catch(
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return '';
      throw error;
    },
  );
  const entries: ErasureAuditEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const parsed = JSON.parse(line) as Partial<ErasureAuditEntry>;
      if (parsed.kind === 'entity-delete' && typeof parsed.at === 'string')
        entries.push(parsed as ErasureAuditEntry);
    } catch {
      // a line damaged by hand: not an entry
    }
  }
  return entries;
}
