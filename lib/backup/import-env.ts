import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { envDataDir } from '../data-paths.ts';
import { syncFolder } from '../offline/ingest-manifest.ts';
import { ExportError, type ExportManifest, verifiedExport } from './export-manifest.ts';
import { leftoverSiblings } from './folder-files.ts';
import { checkImportedIngestManifest } from './imported-ingest-manifest.ts';

export interface ImportResult {
  readonly env: string;
  readonly restored: number;
  readonly includesData: boolean;
  /** Exported files not restored, by top-level name, with the reason. */
  readonly notRestored: readonly {
    readonly name: string;
    readonly files: number;
    readonly why: string;
  }[];
  readonly exportedFrom: string;
  readonly exportedAt: string;
}

/**
 * Restores an export into a new local environment. The export is checked whole first (every
 * file's size and sha256, no path outside what an export holds, an ingest manifest naming only
 * the export's own data files); the environment's folder must
 * not exist or be empty. Files are copied into a hidden sibling folder that is renamed into
 * place at the end: a stopped import leaves no environment, and the next import of it removes
 * the leftover. Never restored: the watermarks (the new online store is empty, so
 * materialization must start from the beginning), and without data the offline metadata and
 * quarantine (they describe files the export does not hold).
 */
export async function importEnvironment(options: {
  readonly dataDir: string;
  readonly env: string;
  readonly from: string;
}): Promise<ImportResult> {
  const { dataDir, env, from } = options;
  const manifest = await verifiedExport(from);
  if (manifest.origin !== 'local')
    throw new ExportError(
      `${from} is an export of the AWS environment "${manifest.env}": its files keep the S3 layout, which a local environment does not read`,
      `restore it into an AWS environment: fstore import ${from} --env <new aws env> (deployed with the same feature-defs); nothing was changed`,
    );
  const envDir = envDataDir(dataDir, env);
  const present = await readdir(envDir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  if (present.length > 0)
    throw new ExportError(
      `environment "${env}" is not empty: ${envDir} holds ${present.slice(0, 4).join(', ')}${present.length > 4 ? ', ...' : ''}`,
      'import into a new environment (--env local-restored), or delete this one first with fstore reset --env <name>; nothing was changed',
    );
  const { restore, notRestored } = restoredFiles(manifest);
  if (restore.includes('offline/_ingests.jsonl'))
    checkImportedIngestManifest(
      await readFile(path.join(from, 'offline', '_ingests.jsonl'), 'utf8'),
      new Set(manifest.files.map((f) => f.path)),
    );
  await mkdir(path.dirname(envDir), { recursive: true });
  for (const leftover of await leftoverSiblings(envDir, 'importing'))
    await rm(leftover, { recursive: true, force: true });
  const staging = `${envDir}.importing-${randomUUID().slice(0, 8)}`;
  try {
    await mkdir(staging);
    for (const relative of restore) {
      const to = path.join(staging, ...relative.split('/'));
      await mkdir(path.dirname(to), { recursive: true });
      await copyFile(path.join(from, ...relative.split('/')), to);
    }
    await syncFolder(staging);
    // An empty folder is replaced; a folder filled since the check makes the rename fail.
    await rm(envDir, { recursive: false, force: true }).catch(() => undefined);
    await rename(staging, envDir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOTEMPTY' || error.code === 'EEXIST')
        throw new ExportError(
          `environment "${env}" was filled while the export was copied (${envDir})`,
          'import into a new environment; nothing was changed',
        );
      throw error;
    });
    await syncFolder(path.dirname(envDir));
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  return {
    env,
    restored: restore.length,
    includesData: manifest.includesData,
    notRestored,
    exportedFrom: manifest.env,
    exportedAt: manifest.exportedAt,
  };
}

function restoredFiles(manifest: ExportManifest): {
  restore: string[];
  notRestored: ImportResult['notRestored'];
} {
  const skipped = new Map<string, { files: number; why: string }>();
  const skip = (name: string, why: string) => {
    const entry = skipped.get(name) ?? { files: 0, why };
    skipped.set(name, { files: entry.files + 1, why });
  };
  const restore: string[] = [];
  for (const { path: relative } of manifest.files) {
    const top = relative.split('/')[0] ?? '';
    if (top === 'online.watermarks.json')
      skip(top, 'the online store starts empty: fstore materialize fills it from the offline data');
    else if (!manifest.includesData && (top === 'offline' || top === 'quarantine'))
      skip(top, 'the export holds no data files (export with --include-data)');
    else restore.push(relative);
  }
  return { restore, notRestored: [...skipped].map(([name, s]) => ({ name, ...s })) };
}
