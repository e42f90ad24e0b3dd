import path from 'node:path';
import { envDataDir } from '../data-paths.ts';
import { manifestPath } from './ingest-manifest.ts';

/** `.fstore/<env>/offline/`: Hive-style `<source>/dt=YYYY-MM-DD/*.parquet`, like S3 on AWS. */
export function offlineRoot(dataDir: string, env: string): string {
  return path.join(envDataDir(dataDir, env), 'offline');
}

/** The commit point of the local offline store (see ingest-manifest.ts). */
export function ingestManifestPath(dataDir: string, env: string): string {
  return manifestPath(offlineRoot(dataDir, env));
}

/** `_staging/<ingestId>/`: `owner.json` (pid of the ingesting process) and `data/dt=.../`. */
export function stagingDir(dataDir: string, env: string, ingestId: string): string {
  return path.join(offlineRoot(dataDir, env), '_staging', ingestId);
}

/** Held while an ingest writes and commits (and by `fstore doctor --fix` while it cleans up). */
export function ingestLockPath(dataDir: string, env: string): string {
  return path.join(offlineRoot(dataDir, env), '_ingest.lock');
}
