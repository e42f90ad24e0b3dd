import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DuckDBConnection } from '@duckdb/node-api';
import { quarantineDir } from '../data-paths.ts';
import { duckdbRowSource } from '../materialize/duckdb-row-source.ts';
import { manifestIngestLog } from '../materialize/manifest-ingest-log.ts';
import {
  MaterializationError,
  type MaterializeViewOptions,
  type MaterializeViewResult,
  materializeView,
  plannedOnlineView,
} from '../materialize/materialize-view.ts';
import { fileQuarantine } from '../materialize/quarantine.ts';
import type { RowSource } from '../materialize/row-source.ts';
import { duckdbTileBaseWriter, type TileBaseWriter } from '../materialize/tile-base-writer.ts';
import { openDuckdb } from '../offline/duckdb-session.ts';
import { readManifest } from '../offline/ingest-manifest.ts';
import { offlineRoot } from '../offline/local-layout.ts';
import { compactPushLogs, type PushLogCompaction } from '../push/compact-push-logs.ts';
import type { Registry } from '../registry/index.ts';
import type { Dialect } from '../sql/dialect.ts';
import { duckdbDialect } from '../sql/duckdb-dialect.ts';
import { localOwner, localOwnerGone } from './local-lease-owner.ts';

export interface LocalMaterializationOptions
  extends Pick<
    MaterializeViewOptions,
    | 'range'
    | 'allowedLatenessSeconds'
    | 'concurrency'
    | 'shards'
    | 'chunkRows'
    | 'now'
    | 'onStart'
    | 'onProgress'
    | 'shouldPause'
    | 'signal'
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
  /**
   * Ingests the push logs waiting for these sources before a view over them is materialized.
   * Default: `compactPushLogs` under its per-source lock. A process that also compacts in the
   * background (`fstore serve`) passes its own, so two compactions never run in one process.
   */
  readonly ingestPushLogs?: (sources: readonly string[]) => Promise<readonly PushLogCompaction[]>;
  /** Told about each source whose push logs were ingested before its views' runs. */
  readonly onPushLogs?: (compaction: PushLogCompaction) => void;
  /** Test hook: called between a tile base's item writes and its entity's token renewal. */
  readonly tileBaseBeforeToken?: () => void;
}

/** How long a run waits for another process compacting the same source's logs. */
const pushLogLockWaitMs = 120_000;

/** The online views a local materialization covers: `views`, or every online view. */
export function localViewNames(options: Pick<LocalMaterializationOptions, 'registry' | 'views'>) {
  return options.views ?? options.registry.featureViews.filter((v) => v.online).map((v) => v.name);
}

/**
 * Materializes online views of a local environment with DuckDB over its offline store, into
 * its online store, one view after the other. Before each view it ingests the push logs
 * waiting for the view's source (docs/point-in-time.md, "Pushed rows"): a pushed item carries
 * no `fstore_seq` until its log is ingested, so a run reading the offline store without it
 * would let an older row tied on event and created time put an older value back online (or,
 * on a full run after a definition change, any older row). Rows breaking constraints go to
 * `.fstore/<env>/quarantine/<view>/<run>.jsonl`. On a stop request (`signal`) the running view
 * stops at its next checkpoint (result `paused`) and the views after it are not started, so
 * the results then cover fewer views than asked for.
 */
export async function materializeLocal(
  options: LocalMaterializationOptions,
): Promise<MaterializeViewResult[]> {
  const names = localViewNames(options);
  const root = offlineRoot(options.dataDir, options.env);
  const dialect = duckdbDialect(root);
  const session = await openDuckdb();
  const source = duckdbRowSource(session.connection, dialect);
  // A DuckDB connection streams one query at a time (a second stream on it reads nothing), so
  // each shard reads on its own connection, opened when the shard first reads.
  const shardConnections = new Map<number, Promise<DuckDBConnection>>();
  const shardSource = (shard: number): RowSource => {
    const connection = async () => {
      let opened = shardConnections.get(shard);
      if (!opened) {
        opened = session.instance.connect().then(async (c) => {
          await c.run("SET TimeZone = 'UTC'");
          return c;
        });
        shardConnections.set(shard, opened);
      }
      return duckdbRowSource(await opened, dialect);
    };
    return {
      async *latestRows(query) {
        yield* (await connection()).latestRows(query);
      },
    };
  };
  // Tile bases are read while the view's rows stream on the main connection.
  let tileConnectionOpened: Promise<DuckDBConnection> | undefined;
  const tileConnection = () => {
    tileConnectionOpened ??= session.instance.connect().then(async (c) => {
      await c.run("SET TimeZone = 'UTC'");
      return c;
    });
    return tileConnectionOpened;
  };
  const dir = quarantineDir(options.dataDir, options.env);
  try {
    const results: MaterializeViewResult[] = [];
    const {
      views: _views,
      onView: _onView,
      dataDir: _dataDir,
      env: _env,
      ingestPushLogs: _ingestPushLogs,
      onPushLogs: _onPushLogs,
      tileBaseBeforeToken: _tileBaseBeforeToken,
      ...shared
    } = options;
    for (const view of names) {
      if (options.signal?.aborted) break;
      if (!(await ingestWaitingPushLogs(options, view))) break;
      options.onView?.(view);
      const tiles = await localTileBaseWriter(options, view, root, dialect, tileConnection);
      const result = await materializeView({
        ...(tiles ? { tiles } : {}),
        ...shared,
        view,
        owner: localOwner(),
        isOwnerGone: localOwnerGone,
        source,
        shardSource,
        ingests: manifestIngestLog(root),
        quarantine: (run) => fileQuarantine(dir, run),
      });
      results.push(result);
    }
    return results;
  } finally {
    for (const opened of [
      ...shardConnections.values(),
      ...(tileConnectionOpened ? [tileConnectionOpened] : []),
    ])
      await opened.then((c) => c.closeSync()).catch(() => undefined);
    session.close();
  }
}

/**
 * The tile base writer of a view with `onlineTiles` (undefined for other views), at the
 * sequence of the commit records as they are when the run writes its first chunk: after the
 * push logs were ingested and after the run read the ingests it covers.
 */
async function localTileBaseWriter(
  options: LocalMaterializationOptions,
  name: string,
  root: string,
  dialect: Dialect,
  connection: () => Promise<DuckDBConnection>,
): Promise<TileBaseWriter | undefined> {
  const view = options.registry.featureViews.find((v) => v.name === name);
  if (!view?.onlineTiles || !view.online) return undefined;
  const { view: runtime, planned } = plannedOnlineView(options.registry, name);
  return duckdbTileBaseWriter({
    registry: options.registry,
    view: runtime,
    planned,
    records: async () => (await readManifest(root)) ?? [],
    connection,
    dialect,
    client: options.client,
    table: options.table,
    now: options.now ?? Date.now,
    ...(options.tileBaseBeforeToken ? { beforeToken: options.tileBaseBeforeToken } : {}),
  });
}

/**
 * Ingests the push logs waiting for `view`'s source. False when a stop request ended it (the
 * view is then not started); a failure stops the materialization before the view is read.
 */
async function ingestWaitingPushLogs(
  options: LocalMaterializationOptions,
  view: string,
): Promise<boolean> {
  const source = options.registry.featureViews.find((v) => v.name === view)?.source;
  if (!source) return true; // materializeView names the unknown view
  const ingest =
    options.ingestPushLogs ??
    ((sources: readonly string[]) =>
      compactPushLogs({
        registry: options.registry,
        dataDir: options.dataDir,
        env: options.env,
        sources,
        lockWaitMs: pushLogLockWaitMs,
        ...(options.signal ? { signal: options.signal } : {}),
      }));
  let compacted: readonly PushLogCompaction[];
  try {
    compacted = await ingest([source]);
  } catch (error) {
    if (options.signal?.aborted) return false;
    throw new MaterializationError(
      `${view} was not materialized: the push logs waiting for source "${source}" could not be ingested first (${(error as Error).message})`,
      `a run without them could put an older value back online over a pushed one; once that is fixed (fstore compact, or fstore doctor), run it again`,
      { cause: error },
    );
  }
  for (const c of compacted) options.onPushLogs?.(c);
  return true;
}
