import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { syncFolder } from '../offline/ingest-manifest.ts';

/**
 * Writes `text` as `file` so that a crash leaves the whole file or none: a temporary
 * `<file>.<pid>.tmp`, fsync, rename, fsync of the folder (the rename survives a power cut). The
 * pid in the temporary's name lets a later run remove what a killed writer left, never a live
 * one's (removeAbandonedLogTemporaries). A failure (a full disk) removes the temporary; after
 * the rename there is none to remove. `exclusive` refuses a temporary that already exists
 * (and leaves it).
 * The one durable writer of push logs, their batches, failed copies and the ledger.
 */
export async function writeDurably(
  file: string,
  text: string,
  options: { readonly exclusive?: boolean } = {},
): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  // Opened before the cleanup is armed: an exclusive open that fails removes nobody's file.
  const handle = await open(temporary, options.exclusive ? 'wx' : 'w');
  try {
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
  } finally {
    await rm(temporary, { force: true });
  }
  await syncFolder(path.dirname(file));
}
