import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { AthenaQueryRunner } from '../offline/athena-query-runner.ts';
import type { IngestRecord } from '../offline/ingest-manifest.ts';
import type { BaseRow } from '../online/aggregation-tiles/base-tiles.ts';
import { viewTileSpec } from '../online/aggregation-tiles/view-tile-spec.ts';
import { writeBaseTiles } from '../online/aggregation-tiles/write-base-tiles.ts';
import { pushLogOrder } from '../push/push-log-order.ts';
import type { RuntimeFeatureView, RuntimeRegistry } from '../registry/runtime-projection.ts';
import type { Dialect } from '../sql/dialect.ts';
import type { PlannedView } from '../sql/point-in-time-plan.ts';
import type { LatestWindow } from '../sql/render-latest.ts';
import {
  type EntityGroups,
  queryTileBaseGroups,
  unkeyableEntity,
} from './athena-tile-base-writer.ts';
import { type ResumeKey, renderMaterializationRows } from './row-source.ts';
import type { ShardTileProgress } from './shard-plan.ts';
import type { TileBaseRangesTable } from './tile-base-ranges.ts';
import { tileBaseSequence } from './tile-base-writer.ts';

/** Entities whose bases are written at once (each writes its items 8 at a time). */
const entityConcurrency = 4;

export interface ShardTileBasesOptions {
  readonly registry: RuntimeRegistry;
  readonly view: RuntimeFeatureView;
  readonly planned: PlannedView;
  /** The run's window and this shard (the entities of the run's query whose key hashes to it). */
  readonly window: LatestWindow;
  readonly shard: { readonly index: number; readonly count: number };
  readonly runner: Pick<AthenaQueryRunner, 'run' | 'typedRows'>;
  readonly dialect: Dialect;
  /** The source's commit records (every one), read once per invocation. */
  readonly records: () => Promise<readonly IngestRecord[]>;
  /** Where the base query ships counted ranges past a thousand (athena-tile-base-writer.ts). */
  readonly ranges?: TileBaseRangesTable;
  readonly client: DynamoDBClient;
  readonly table: string;
  readonly now: () => number;
  /** Where an earlier invocation stopped (undefined: from the shard's first entity). */
  readonly progress: ShardTileProgress | undefined;
  /** Entities between checkpoints. */
  readonly chunkEntities: number;
  /** Records the shard's progress (under the run's lease); awaited before going on. */
  readonly checkpoint: (progress: ShardTileProgress) => Promise<void>;
  /** Asked after each checkpoint: true stops there, to go on in the next invocation. */
  readonly shouldPause?: () => boolean;
  readonly signal?: AbortSignal;
  /** Test hook: called between an entity's item writes and its write token's renewal. */
  readonly beforeToken?: () => void;
}

/**
 * The tile base phase of one shard of a sharded AWS run (ADR 0022, "Tile bases"): the same base
 * query as the single materializer's (athena-tile-base-writer.ts), its entities the run's query
 * restricted to this shard by the UNLOAD's own shard expression (renderShardOf) and resumed
 * after the last entity written, with a row of NULLs for each entity without base rows so its
 * stored bases are cleared too. Entities come in key order: a checkpoint after every
 * `chunkEntities` (their bases written first) is the key to resume after, in a new query.
 * Writes are conditional on each item's base version, so an entity written again after a stop
 * changes nothing and no row counts twice.
 */
export async function writeShardTileBases(
  options: ShardTileBasesOptions,
): Promise<{ readonly status: 'done' | 'paused'; readonly progress: ShardTileProgress }> {
  const spec = viewTileSpec(options.registry, options.view);
  if (!spec) throw new Error(`internal: ${options.view.name} has no tiles, so no tile base phase`);
  let progress: ShardTileProgress = options.progress ?? {
    done: false,
    entities: 0,
    itemsWritten: 0,
    itemsAlreadyNewer: 0,
  };
  if (progress.done) return { status: 'done', progress };
  const records = await options.records();
  const sequence = tileBaseSequence(
    records,
    options.view.source,
    options.view.onlineStore.keyPrefix,
  );
  if (!sequence) {
    progress = { ...progress, done: true };
    await options.checkpoint(progress);
    return { status: 'done', progress };
  }
  const nowMs = options.now();
  const entities = renderMaterializationRows(
    {
      view: options.planned,
      window: options.window,
      shard: options.shard,
      ...(progress.afterKey ? { afterKey: progress.afterKey } : {}),
    },
    options.dialect,
  );
  const logsUpTo = pushLogOrder(records, options.view.source);
  const groups = await queryTileBaseGroups(options, spec, sequence, logsUpTo, nowMs, {
    sql: entities,
    everyEntity: true,
  });
  const write = (prefix: string, rows: BaseRow[]) =>
    writeBaseTiles(
      {
        client: options.client,
        table: options.table,
        prefix,
        sumKinds: spec.sumKinds,
        widestWindowSeconds: spec.widestWindowSeconds,
      },
      rows,
      sequence.version,
      { nowMs, ...(options.beforeToken ? { beforeToken: options.beforeToken } : {}) },
    );
  for (;;) {
    const chunk = await writeChunk(groups, options.chunkEntities, write);
    if (chunk.entities === 0) break;
    progress = {
      done: false,
      ...(chunk.lastKey ? { afterKey: chunk.lastKey } : {}),
      entities: progress.entities + chunk.entities,
      itemsWritten: progress.itemsWritten + chunk.itemsWritten,
      itemsAlreadyNewer: progress.itemsAlreadyNewer + chunk.itemsAlreadyNewer,
    };
    await options.checkpoint(progress);
    if (options.shouldPause?.()) return { status: 'paused', progress };
  }
  progress = { ...progress, done: true };
  await options.checkpoint(progress);
  return { status: 'done', progress };
}

/**
 * Up to `size` entity groups, each written (a few at once) with its rows, all written before
 * this returns; a failure stops the entities not started and is thrown after the others end.
 * `entities` counts the groups taken (unkeyable ones too: they are passed over, not written).
 */
async function writeChunk(
  groups: EntityGroups,
  size: number,
  write: (prefix: string, rows: BaseRow[]) => Promise<{ written: number; alreadyNewer: number }>,
) {
  const counts = { entities: 0, itemsWritten: 0, itemsAlreadyNewer: 0 };
  let lastKey: ResumeKey | undefined;
  const writing = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  while (counts.entities < size && !failure) {
    const keys = await groups.peekKeys();
    const prefix = await groups.peek();
    if (prefix === undefined || keys === undefined) break;
    const rows = await groups.take();
    counts.entities++;
    lastKey = keys.map((value) =>
      typeof value === 'number' || typeof value === 'string' ? value : String(value),
    );
    if (prefix.startsWith(unkeyableEntity)) continue;
    while (writing.size >= entityConcurrency && !failure) await Promise.race(writing);
    if (failure) break;
    const task = write(prefix, rows).then(
      (written) => {
        counts.itemsWritten += written.written;
        counts.itemsAlreadyNewer += written.alreadyNewer;
      },
      (error: unknown) => {
        failure ??= { error };
      },
    );
    writing.add(task);
    void task.finally(() => writing.delete(task));
  }
  await Promise.all(writing);
  if (failure) throw failure.error;
  return { ...counts, ...(lastKey ? { lastKey } : {}) };
}
