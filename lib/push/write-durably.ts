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
  await writeInPlace(file, text, options);
  await syncFolder(path.dirname(file));
}

/**
 * writeDurably without its last step: when it returns, `file` holds `text` whole under its
 * name, its bytes fsynced, so it survives a crash of this process; only the folder's fsync,
 * which makes the rename survive a power cut, is left to the caller (`syncFolder`). The push
 * route syncs the folder while it sends the online puts (docs/adr/0015-push.md).
 */
export async function writeInPlace(
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
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
