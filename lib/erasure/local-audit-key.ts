import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { envDataDir } from '../data-paths.ts';
import { syncFolder } from '../offline/ingest-manifest.ts';
import { AuditKeyError } from './audit-key-hash.ts';

/** `.fstore/<env>/audit/audit-key`: the environment's audit secret, 64 hex digits (32 bytes). */
export function localAuditKeyPath(dataDir: string, env: string): string {
  return path.join(envDataDir(dataDir, env), 'audit', 'audit-key');
}

/**
 * The local environment's audit secret, created on first use: 32 random bytes written as hex
 * to a temporary file (mode 0600, fsynced) that is hard-linked to the key's name, so a crash
 * leaves no key or a whole one, and two first deletes at once end up with the same key (the
 * second link fails, and it reads the first's). A key file that is not 64 hex digits is
 * refused, naming it: a new key would make later audit lines incomparable with earlier ones.
 */
export async function localAuditKey(dataDir: string, env: string): Promise<Buffer> {
  const file = localAuditKeyPath(dataDir, env);
  const existing = await readKey(file);
  if (existing) return existing;
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(temporary, 'w', 0o600);
  try {
    try {
      await handle.writeFile(`${randomBytes(32).toString('hex')}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await link(temporary, file).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
  } finally {
    await rm(temporary, { force: true });
  }
  await syncFolder(path.dirname(file));
  const created = await readKey(file);
  if (!created) throw new Error(`${file} vanished right after it was created`);
  return created;
}

async function readKey(file: string): Promise<Buffer | undefined> {
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (text === undefined) return undefined;
  const hex = text.trim();
  if (!/^[0-9a-f]{64}$/.test(hex))
    throw new AuditKeyError(
      `the audit key ${file} is damaged: it must hold 64 hex digits (a 32-byte key), it holds ${text.length} characters${hex.length === 64 ? ' that are not all hex digits' : ''}`,
      'restore it from an fstore export of this environment (its audit/ folder holds it); if it is lost, move it aside: a new key is made, and audit lines before it can no longer be compared with later ones',
    );
  return Buffer.from(hex, 'hex');
}
