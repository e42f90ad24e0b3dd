import { stat } from 'node:fs/promises';
import path from 'node:path';
import { presentCommittedSourceFiles, sourceDataFiles } from './ingest-manifest.ts';

/**
 * Names, sizes and modification times of a source's committed files (every stored file of a
 * store without a manifest), one `<path>\t<size>\t<mtime>` line each, and each line's file:
 * they change with every committed ingest, not with uncommitted files. Caches built from a
 * source's rows (running totals, sorted copies) record the lines they hold.
 */
export async function storedFileLines(
  offlineRoot: string,
  source: string,
): Promise<Map<string, string> | undefined> {
  const files =
    presentCommittedSourceFiles(offlineRoot, source) ??
    sourceDataFiles(offlineRoot, source)
      .map(({ folder, name }) => path.join(folder, name))
      .sort();
  return fileLines(offlineRoot, source, files);
}

/** The lines of storedFileLines for `files` of `source` (one read of the manifest's, say). */
export async function fileLines(
  offlineRoot: string,
  source: string,
  files: readonly string[],
): Promise<Map<string, string> | undefined> {
  if (files.length === 0) return undefined;
  const sourceDir = path.join(offlineRoot, source);
  const lines = await Promise.all(
    files.map(async (file) => {
      const { size, mtimeMs } = await stat(file);
      return [`${path.relative(sourceDir, file)}\t${size}\t${mtimeMs}`, file] as const;
    }),
  );
  return new Map(lines);
}
