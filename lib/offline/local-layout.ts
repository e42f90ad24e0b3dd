import path from 'node:path';
import { envDataDir } from '../local/data-paths.ts';

/** `.fstore/<env>/offline/`: Hive-style `<source>/dt=YYYY-MM-DD/*.parquet`, like S3 on AWS. */
export function offlineRoot(dataDir: string, env: string): string {
  return path.join(envDataDir(dataDir, env), 'offline');
}

export function ingestManifestPath(dataDir: string, env: string): string {
  return path.join(offlineRoot(dataDir, env), '_ingests.jsonl');
}

export function stagingDir(dataDir: string, env: string, ingestId: string): string {
  return path.join(offlineRoot(dataDir, env), '_staging', ingestId);
}
