import { rm } from 'node:fs/promises';
import { ingestFile, wasIngested } from '../offline/ingest.ts';
import type { Registry } from '../registry/index.ts';
import { pendingPushLogs } from './push-log.ts';

export interface PushLogCompaction {
  readonly source: string;
  /** Logs ingested by this run. */
  readonly ingested: number;
  /** Logs an earlier run had already ingested (it stopped before removing them). */
  readonly alreadyIngested: number;
  readonly rows: number;
}

/**
 * Moves the waiting push logs of each source into the offline store, oldest first, each one an
 * ingest under ingest's commit rule (one manifest rename; its rows get an `fstore_seq` range),
 * then removes it. Killed between an ingest's commit and the removal, the next run finds the
 * log's content among the committed ingests and only removes it, so no log is ingested twice.
 */
export async function compactPushLogs(options: {
  registry: Registry;
  dataDir: string;
  env: string;
  sources?: readonly string[];
}): Promise<PushLogCompaction[]> {
  const { registry, dataDir, env } = options;
  const sources = options.sources ?? registry.sources.map((s) => s.name);
  const results: PushLogCompaction[] = [];
  for (const source of sources) {
    let ingested = 0;
    let alreadyIngested = 0;
    let rows = 0;
    for (const log of await pendingPushLogs(dataDir, env, source)) {
      if (await wasIngested(dataDir, env, source, log)) alreadyIngested += 1;
      else {
        const result = await ingestFile({ registry, dataDir, env, source, file: log });
        ingested += 1;
        rows += result.rows;
      }
      await rm(log, { force: true });
    }
    if (ingested + alreadyIngested > 0) results.push({ source, ingested, alreadyIngested, rows });
  }
  return results;
}
