import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { readManifest } from '../offline/ingest-manifest.ts';
import { offlineRoot } from '../offline/local-layout.ts';

/** The files of a source's committed ingests, looked up by name and content. */
export interface CommittedFiles {
  /** Whether an ingest of a file of this name and this exact content is committed. */
  has(file: string): Promise<boolean>;
}

/**
 * A snapshot of the manifest for push-log compaction: push logs and batch files carry a unique
 * name (a push id, a batch id), so a committed ingest of a file with that name and content is
 * that log or batch, not another push that happened to hold the same rows. Only a file whose
 * name a record carries is read and hashed.
 */
export async function committedFilesNamed(
  dataDir: string,
  env: string,
  source: string,
): Promise<CommittedFiles> {
  const hashesByName = new Map<string, Set<string>>();
  for (const record of (await readManifest(offlineRoot(dataDir, env))) ?? []) {
    if (record.source !== source) continue;
    const name = path.basename(record.file);
    const hashes = hashesByName.get(name) ?? new Set<string>();
    hashes.add(record.sha256);
    hashesByName.set(name, hashes);
  }
  return {
    async has(file) {
      const hashes = hashesByName.get(path.basename(file));
      if (!hashes) return false;
      const sha256 = await hashFile(file).catch(() => undefined);
      return sha256 !== undefined && hashes.has(sha256);
    },
  };
}

async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
