import { randomBytes } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { duckdbRowSource } from '../materialize/duckdb-row-source.ts';
import {
  type MaterializeViewOptions,
  type MaterializeViewResult,
  materializeView,
} from '../materialize/materialize-view.ts';
import { fileQuarantine } from '../materialize/quarantine.ts';
import { openDuckdb } from '../offline/duckdb-session.ts';
import { offlineRoot } from '../offline/local-layout.ts';
import type { Registry } from '../registry/index.ts';
import { duckdbDialect } from '../sql/duckdb-dialect.ts';
import { quarantineDir } from './data-paths.ts';
import { isRunning } from './process-lock.ts';

export interface LocalMaterializationOptions
  extends Pick<
    MaterializeViewOptions,
    | 'range'
    | 'allowedLatenessSeconds'
    | 'concurrency'
    | 'chunkRows'
    | 'now'
    | 'onStart'
    | 'onProgress'
    | 'shouldPause'
  > {
  readonly registry: Registry;
  readonly dataDir: string;
  readonly env: string;
  readonly client: DynamoDBClient;
  readonly table: string;
  /** Only these views; default every online view. */
  readonly views?: readonly string[];
  /** Called before each view's run, e.g. to label a progress bar. */
  readonly onView?: (view: string) => void;
}

/** `local-<pid>-<random>`: a lease holder on this machine, whose process can be checked. */
function localOwner(): string {
  return `local-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/** A local holder whose process has exited (killed mid-run) gives its lease up at once. */
export function localOwnerGone(owner: string): boolean {
  const match = /^local-(\d+)-/.exec(owner);
  if (!match) return false;
  const pid = Number(match[1]);
  return pid !== process.pid && !isRunning(pid);
}

/**
 * Materializes online views of a local environment with DuckDB over its offline store, into
 * its online store, one view after the other; rows breaking constraints go to
 * `.fstore/<env>/quarantine/<view>/<run>.jsonl`.
 */
export async function materializeLocal(
  options: LocalMaterializationOptions,
): Promise<MaterializeViewResult[]> {
  const names =
    options.views ?? options.registry.featureViews.filter((v) => v.online).map((v) => v.name);
  const dialect = duckdbDialect(offlineRoot(options.dataDir, options.env));
  const session = await openDuckdb();
  const source = duckdbRowSource(session.connection, dialect);
  const dir = quarantineDir(options.dataDir, options.env);
  try {
    const results: MaterializeViewResult[] = [];
    const { views: _views, onView: _onView, dataDir: _dataDir, env: _env, ...shared } = options;
    for (const view of names) {
      options.onView?.(view);
      results.push(
        await materializeView({
          ...shared,
          view,
          owner: localOwner(),
          isOwnerGone: localOwnerGone,
          source,
          quarantine: (run) => fileQuarantine(dir, run),
        }),
      );
    }
    return results;
  } finally {
    session.close();
  }
}
