import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DuckDBConnection } from '@duckdb/node-api';
import { inParallel } from '../bounded-pool.ts';
import { formatMicros } from '../epoch-micros.ts';
import type { IngestRecord } from '../offline/ingest-manifest.ts';
import { isNoFilesError } from '../offline/no-files-error.ts';
import type { BaseRow } from '../online/aggregation-tiles/base-tiles.ts';
import type { TileValue } from '../online/aggregation-tiles/tile-values.ts';
import { type ViewTileSpec, viewTileSpec } from '../online/aggregation-tiles/view-tile-spec.ts';
import { writeBaseTiles } from '../online/aggregation-tiles/write-base-tiles.ts';
import { encodeEntityKey, partitionKey } from '../online/entity-key.ts';
import { pushLogOrder } from '../push/push-log-order.ts';
import { tiledSeqRanges } from '../push/tiled-push-rows.ts';
import type { RuntimeFeatureView, RuntimeRegistry } from '../registry/runtime-projection.ts';
import { mergeSeqRanges } from '../seq-ranges.ts';
import type { Dialect } from '../sql/dialect.ts';
import type { PlannedView } from '../sql/point-in-time-plan.ts';
import { renderTileBaseRows } from '../sql/render-tile-base-rows.ts';
import type { LatestRowsQuery } from './row-source.ts';

/**
 * Writes the tiles' base of the entities a materialization chunk changed (ADR 0020,
 * "Scheduled materialization"). Called with the chunk's rows (one per entity) after they are
 * written and before the checkpoint, so a run that dies in between writes them again on resume.
 */
export interface TileBaseWriter {
  /**
   * `run`: the query this invocation streams its rows from (window and resume key), given by a
   * run that streams its rows in key order in one query, so a writer may read the bases of all
   * its entities in one query too (athena-tile-base-writer.ts).
   */
  writeEntities(
    rows: readonly Record<string, unknown>[],
    run?: LatestRowsQuery,
  ): Promise<TileBaseCounts>;
}

export interface TileBaseCounts {
  readonly entities: number;
  readonly itemsWritten: number;
  readonly itemsAlreadyNewer: number;
}

/**
 * The offline sequence a base is computed at and the rows it is computed from, from the
 * source's commit records: the rows of those records (`readRanges`; not of an ingest committed
 * after them, whose numbers on S3 may be lower), less the rows pushes applied to the tiles
 * themselves to the tiles of the view version whose item prefix is `tilePrefix`, with their own
 * ids (tiledSeqRanges: a rule of the commit records, local and AWS alike; rows pushed to other
 * view versions' tiles only are the base's). Undefined when the source has no committed row.
 */
export function tileBaseSequence(
  records: readonly IngestRecord[],
  source: string,
  tilePrefix: string,
):
  | {
      readonly maxSeq: bigint;
      /** The base's version, kept in each item's `bs`: see baseVersion. */
      readonly version: bigint;
      readonly readRanges: [bigint, bigint][];
      readonly pushRanges: [bigint, bigint][];
    }
  | undefined {
  let maxSeq: bigint | undefined;
  let rows = 0n;
  const readRanges: [bigint, bigint][] = [];
  const pushRanges: [bigint, bigint][] = [];
  for (const record of records) {
    if (record.source !== source || record.rows <= 0) continue;
    const first = BigInt(record.firstSeq);
    const last = first + BigInt(record.rows) - 1n;
    if (maxSeq === undefined || last > maxSeq) maxSeq = last;
    rows += BigInt(record.rows);
    readRanges.push([first, last]);
    pushRanges.push(...tiledSeqRanges(record, source, tilePrefix));
  }
  return maxSeq === undefined
    ? undefined
    : {
        maxSeq,
        version: baseVersion(maxSeq, rows),
        readRanges: mergeSeqRanges(readRanges),
        pushRanges: mergeSeqRanges(pushRanges),
      };
}

const rowsPerSeq = 10n ** 18n;

/**
 * The version a base is written at (an item's `bs`; a write replaces only a lower one): the
 * sequence S times 10^18 plus the committed rows read, all numbered at or below S. It grows
 * with S, and at one S with the rows: on S3 rows are numbered by each writer's clock at ingest
 * start, so an ingest can commit after a run read S with lower numbers, and the next run, at
 * the same S, must still replace the bases that lack its rows. S3's S (ms × 2^20, 19 digits)
 * times 10^18 plus the rows fits DynamoDB's 38 digits. A `bs` written before this rule (S
 * alone) is lower than any version of a sequence at or above 1.
 */
export function baseVersion(maxSeq: bigint, rows: bigint): bigint {
  if (rows >= rowsPerSeq || maxSeq < 0n)
    throw new Error(`internal: no tile base version for ${rows} rows at sequence ${maxSeq}`);
  return maxSeq * rowsPerSeq + rows;
}

/** Entities whose bases one chunk writes at once. */
const entityConcurrency = 4;

/**
 * A TileBaseWriter over DuckDB for a tile-fed view, or undefined for any other view. `records`
 * reads the source's commit records, once, when the first chunk is written: after the run
 * read the ingests it covers, so the base holds every row the run covers (and maybe rows of
 * an ingest committed meanwhile, which the next run, finding the same sequence, leaves as is).
 */
export function duckdbTileBaseWriter(options: {
  readonly registry: RuntimeRegistry;
  readonly view: RuntimeFeatureView;
  readonly planned: PlannedView;
  readonly records: () => Promise<readonly IngestRecord[]>;
  readonly connection: () => Promise<DuckDBConnection>;
  readonly dialect: Dialect;
  readonly client: DynamoDBClient;
  readonly table: string;
  readonly now: () => number;
  /** Test hook: called between an entity's item writes and its write token's renewal. */
  readonly beforeToken?: () => void;
}): TileBaseWriter | undefined {
  const spec = viewTileSpec(options.registry, options.view);
  if (!spec) return undefined;
  let sequenceRead:
    | Promise<{
        sequence: ReturnType<typeof tileBaseSequence>;
        logsUpTo: ReturnType<typeof pushLogOrder>;
      }>
    | undefined;
  const { view, planned } = options;
  // One query at a time on the connection: sharded runs call this concurrently.
  let queue: Promise<unknown> = Promise.resolve();
  return {
    async writeEntities(rows) {
      if (rows.length === 0) return { entities: 0, itemsWritten: 0, itemsAlreadyNewer: 0 };
      sequenceRead ??= options.records().then((records) => ({
        sequence: tileBaseSequence(records, view.source, view.onlineStore.keyPrefix),
        logsUpTo: pushLogOrder(records, view.source),
      }));
      const { sequence, logsUpTo } = await sequenceRead;
      if (!sequence) return { entities: 0, itemsWritten: 0, itemsAlreadyNewer: 0 };
      const entities = rows.map((row) =>
        planned.joinKeys.map((k) => row[k.name] as string | number | bigint),
      );
      const nowMicros = BigInt(options.now()) * 1000n;
      const sql = renderTileBaseRows(planned, options.dialect, {
        entities,
        afterMicros: nowMicros - BigInt(spec.widestWindowSeconds) * 1_000_000n,
        maxSeq: sequence.maxSeq,
        includedSeqRanges: sequence.readRanges,
        excludedSeqRanges: sequence.pushRanges,
        columns: spec.columnTypes,
      });
      const read = queue.then(() => readRows(options.connection, sql));
      queue = read.catch(() => undefined);
      const byEntity = groupByEntity(view, spec, rows, await read, logsUpTo);
      let itemsWritten = 0;
      let itemsAlreadyNewer = 0;
      // Entities a few at a time (each writes its items 8 at a time): one after another, a
      // chunk's thousands of small writes wait on one round trip each. A failure stops the
      // entities not started.
      await inParallel([...byEntity], entityConcurrency, async ([prefix, entityRows]) => {
        const counts = await writeBaseTiles(
          {
            client: options.client,
            table: options.table,
            prefix,
            sumKinds: spec.sumKinds,
            widestWindowSeconds: spec.widestWindowSeconds,
          },
          entityRows,
          sequence.version,
          {
            nowMs: Number(nowMicros / 1000n),
            ...(options.beforeToken ? { beforeToken: options.beforeToken } : {}),
          },
        );
        itemsWritten += counts.written;
        itemsAlreadyNewer += counts.alreadyNewer;
      });
      return { entities: byEntity.size, itemsWritten, itemsAlreadyNewer };
    },
  };
}

async function readRows(connection: () => Promise<DuckDBConnection>, sql: string) {
  try {
    const reader = await (await connection()).runAndReadAll(sql);
    return reader.getRowObjects() as Record<string, unknown>[];
  } catch (error) {
    if (isNoFilesError(error)) return [];
    throw error;
  }
}

/**
 * The base rows of each entity of the chunk, by item prefix, each with the push logs ingested
 * up to it (`logsUpTo`, so `last` orders pushed rows against it as offline): an entity the base query returned
 * no row for gets an empty list, so writeBaseTiles clears the bases it still stores (all its
 * rows in the widest window erased or no longer the base's) and writes nothing if it has none.
 */
function groupByEntity(
  view: RuntimeFeatureView,
  spec: ViewTileSpec,
  chunk: readonly Record<string, unknown>[],
  rows: readonly Record<string, unknown>[],
  logsUpTo: (seq: bigint) => string | undefined,
): Map<string, BaseRow[]> {
  const byEntity = new Map<string, BaseRow[]>();
  for (const row of chunk) byEntity.set(entityPrefix(view, row), []);
  for (const row of rows) {
    const { prefix, base } = baseRowOf(view, spec, row);
    const list = byEntity.get(prefix) ?? [];
    const pushLogsUpTo = logsUpTo(base.seq);
    list.push(pushLogsUpTo === undefined ? base : { ...base, pushLogsUpTo });
    byEntity.set(prefix, list);
  }
  return byEntity;
}

/**
 * One row of a tile base query as writeBaseTiles takes it, with its entity's item prefix.
 * Integers may come as numbers, bigints or (from Athena's text, past 2^53) decimal text.
 */
export function baseRowOf(
  view: RuntimeFeatureView,
  spec: ViewTileSpec,
  row: Readonly<Record<string, unknown>>,
): { readonly prefix: string; readonly base: BaseRow } {
  const prefix = entityPrefix(view, row);
  const values: Record<string, TileValue | null> = {};
  for (const [column, type] of Object.entries(spec.columnTypes)) {
    const value = row[column];
    values[column] =
      value === null || value === undefined
        ? null
        : type === 'timestamp'
          ? formatMicros(BigInt(value as bigint))
          : (safeInteger(value) as TileValue);
  }
  return {
    prefix,
    base: {
      eventMicros: BigInt(row.fstore_t as bigint),
      createdMicros:
        row.fstore_created === null || row.fstore_created === undefined
          ? null
          : BigInt(row.fstore_created as bigint),
      seq: BigInt(row.fstore_seq as bigint),
      values,
    },
  };
}

/** The item prefix of the entity whose join keys `row` holds. */
export function entityPrefix(view: RuntimeFeatureView, row: Readonly<Record<string, unknown>>) {
  const keys: Record<string, unknown> = {};
  for (const key of view.joinKeys)
    keys[key.name] = key.type === 'string' ? row[key.name] : safeInteger(row[key.name]);
  return partitionKey(view.onlineStore.keyPrefix, encodeEntityKey(view.joinKeys, keys));
}

/** DuckDB's BIGINT values as pushes give them: numbers within 2^53, bigints beyond. */
function safeInteger(value: unknown): unknown {
  if (typeof value === 'bigint' && value >= -(2n ** 53n) + 1n && value <= 2n ** 53n - 1n)
    return Number(value);
  return value;
}
