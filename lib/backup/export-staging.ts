import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { syncFolder } from '../offline/ingest-manifest.ts';
import { ExportError } from './export-manifest.ts';
import { leftoverSiblings } from './folder-files.ts';

/**
 * Readies an export to `out`: refuses an `out` that is a file or a folder with anything in it,
 * creates its parent, removes the staging folders a killed export left beside it, and returns
 * the new staging folder's path (not yet created), renamed to `out` when the export ends.
 */
export async function exportStagingFor(out: string): Promise<string> {
  await refuseUnlessEmpty(out);
  await mkdir(path.dirname(path.resolve(out)), { recursive: true });
  for (const leftover of await leftoverSiblings(out, 'partial'))
    await rm(leftover, { recursive: true, force: true });
  return `${path.resolve(out)}.partial-${randomUUID().slice(0, 8)}`;
}

/**
 * Gives the finished staging folder (its files and manifest synced) the name `out`: the empty
 * folder `out` may be is removed first, and the rename is synced in the parent folder.
 */
export async function publishExport(staging: string, out: string): Promise<void> {
  await rm(out, { recursive: true, force: true });
  await rename(staging, out);
  await syncFolder(path.dirname(path.resolve(out)));
}

async function refuseUnlessEmpty(out: string): Promise<void> {
  const existing = await readdir(out).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    if (error.code === 'ENOTDIR')
      throw new ExportError(`${out} is a file, not a folder`, 'choose a new folder for --out');
    throw error;
  });
  if (existing.length > 0)
    throw new ExportError(
      `${out} is not empty (${existing.slice(0, 3).join(', ')}${existing.length > 3 ? ', ...' : ''})`,
      'export into a new or empty folder; nothing was written',
    );
}
