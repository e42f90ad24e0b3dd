import { copyFile, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { envDataDir } from '../data-paths.ts';
import { readAppliedRegistry } from '../local/registry-store.ts';
import {
  presentCommittedSourceFiles,
  readManifestState,
  syncFile,
  syncFolder,
  writeManifest,
} from '../offline/ingest-manifest.ts';
import { LocalIngestTarget } from '../offline/ingest-target.ts';
import { offlineRoot } from '../offline/local-layout.ts';
import { lineageGraph } from '../registry/lineage.ts';
import {
  ExportError,
  type ExportManifest,
  exportManifestName,
  sha256OfFile,
} from './export-manifest.ts';
import { exportStagingFor, publishExport } from './export-staging.ts';
import { filesUnder } from './folder-files.ts';

export interface ExportOptions {
  readonly dataDir: string;
  readonly env: string;
  /** A folder that does not exist yet, or is empty. */
  readonly out: string;
  /** The committed offline data files and quarantined rows too, not only the metadata. */
  readonly includeData: boolean;
  readonly fstoreVersion: string;
  readonly onProgress?: (done: number, total: number) => void;
}

export interface ExportResult {
  readonly out: string;
  readonly files: number;
  readonly bytes: number;
  readonly dataFiles: number;
  readonly includesData: boolean;
}

/**
 * Writes a local environment's registry history, lineage, ingest manifest, snapshots, audit
 * and watermarks (and with `includeData` its committed data files, the push logs not ingested
 * yet and the quarantined rows) into
 * `out`, with `fstore-export.json` listing every file's size and sha256. Holds the offline
 * store's write lock, so no ingest, compaction, retention or delete changes the files while
 * they are copied. Everything is written in a sibling folder first and renamed to `out` at the
 * end: a stopped export leaves no `out`, and the next export to it removes the leftover.
 */
export async function exportEnvironment(options: ExportOptions): Promise<ExportResult> {
  const { dataDir, env, out } = options;
  const envDir = envDataDir(dataDir, env);
  if (!(await stat(envDir).catch(() => undefined))?.isDirectory())
    throw new ExportError(
      `environment "${env}" has nothing to export: ${envDir} does not exist`,
      'pass the environment with --env and the data folder with --data-dir',
    );
  const staging = await exportStagingFor(out);
  const root = offlineRoot(dataDir, env);
  const writing = await new LocalIngestTarget(dataDir, env).beginWrite();
  try {
    await mkdir(staging);
    const copies = await plannedCopies(envDir, root, options.includeData);
    let done = 0;
    let dataFiles = 0;
    for (const [relative, from] of copies) {
      const to = path.join(staging, ...relative.split('/'));
      await mkdir(path.dirname(to), { recursive: true });
      await copyFile(from, to);
      if (relative.endsWith('.parquet')) dataFiles++;
      options.onProgress?.(++done, copies.size);
    }
    const state = await readManifestState(root);
    if (state) {
      await mkdir(path.join(staging, 'offline'), { recursive: true });
      // Records only: replaced files kept for late readers are not part of the data.
      await writeManifest(path.join(staging, 'offline'), state.records, 'export');
    }
    const registry = await readAppliedRegistry(dataDir, env);
    if (registry)
      await writeFile(
        path.join(staging, 'lineage.json'),
        `${JSON.stringify(lineageGraph(registry), null, 2)}\n`,
      );
    const files: ExportManifest['files'] = [];
    let bytes = 0;
    for (const relative of await filesUnder(staging)) {
      const file = path.join(staging, ...relative.split('/'));
      const size = (await stat(file)).size;
      bytes += size;
      files.push({ path: relative, bytes: size, sha256: await sha256OfFile(file) });
    }
    const manifest: ExportManifest = {
      format: 'fstore-export',
      version: 1,
      fstoreVersion: options.fstoreVersion,
      env,
      origin: 'local',
      exportedAt: new Date().toISOString(),
      includesData: options.includeData,
      files,
    };
    const manifestFile = path.join(staging, exportManifestName);
    await writeFile(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
    await syncFile(manifestFile);
    await syncFolder(staging);
    await publishExport(staging, out);
    return { out, files: files.length, bytes, dataFiles, includesData: options.includeData };
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  } finally {
    await writing.release();
  }
}

/** Export path → file to copy: the metadata always, the committed data with `includeData`. */
async function plannedCopies(
  envDir: string,
  root: string,
  includeData: boolean,
): Promise<Map<string, string>> {
  const copies = new Map<string, string>();
  const add = (relative: string) => copies.set(relative, path.join(envDir, ...relative.split('/')));
  for (const name of ['registry.json', 'online.watermarks.json', 'offline/_snapshots.json'])
    if ((await stat(path.join(envDir, name)).catch(() => undefined))?.isFile()) add(name);
  for (const folder of ['registry-history', 'audit', ...(includeData ? ['quarantine'] : [])])
    for (const relative of await filesUnder(path.join(envDir, folder)))
      add(`${folder}/${relative}`);
  if (!includeData) return copies;
  // Pushed rows not ingested yet: each log is whole (written aside, then renamed into place).
  for (const relative of await filesUnder(path.join(root, '_push')))
    if (relative.endsWith('.jsonl') || relative.endsWith('.reason.txt'))
      add(`offline/_push/${relative}`);
  const state = await readManifestState(root);
  for (const source of new Set(state?.records.map((r) => r.source)))
    for (const file of presentCommittedSourceFiles(root, source) ?? [])
      add(`offline/${path.relative(root, file).split(path.sep).join('/')}`);
  return copies;
}
