import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { listElementType } from '../definitions/value-types.ts';
import type { AthenaQueryRunner } from '../offline/athena-query-runner.ts';
import type { IngestRecord } from '../offline/ingest-manifest.ts';
import type { BaseRow } from '../online/aggregation-tiles/base-tiles.ts';
import { type ViewTileSpec, viewTileSpec } from '../online/aggregation-tiles/view-tile-spec.ts';
import { writeBaseTiles } from '../online/aggregation-tiles/write-base-tiles.ts';
import { EntityKeyError } from '../online/entity-key.ts';
import { pushLogOrder } from '../push/push-log-order.ts';
import type { RuntimeFeatureView, RuntimeRegistry } from '../registry/runtime-projection.ts';
import { subtractSeqRanges } from '../seq-ranges.ts';
import {
  athenaQueryBytes,
  checkAthenaQuerySize,
  maxAthenaQueryBytes,
} from '../sql/athena-query-size.ts';
import type { Dialect } from '../sql/dialect.ts';
import type { PlannedView } from '../sql/point-in-time-plan.ts';
import { renderTileBaseRows } from '../sql/render-tile-base-rows.ts';
import { type LatestRowsQuery, renderMaterializationRows } from './row-source.ts';
import { maxRangesInText, type TileBaseRangesTable } from './tile-base-ranges.ts';
import {
  baseRowOf,
  entityPrefix,
  type TileBaseCounts,
  type TileBaseWriter,
  tileBaseSequence,
} from './tile-base-writer.ts';

/** Entities whose bases are written at once (each writes its items 8 at a time). */
const entityConcurrency = 4;

const none: TileBaseCounts = { entities: 0, itemsWritten: 0, itemsAlreadyNewer: 0 };

/**
 * The tiles' base on AWS (ADR 0020, "Scheduled materialization"): ONE Athena query per
 * invocation of a run, not one per chunk (Athena bills at least 10 MB a query and takes
 * seconds). At the run's first chunk it reads the source's commit records (the sequence S and
 * the push ranges, `tileBaseSequence`) and starts a query for the base rows of every entity
 * the run's own query yields after its resume key, ordered by key and `fstore_seq` as the
 * run's rows are ordered by key. Each chunk then takes, entity by entity in that order, the
 * rows of its entities from the result pages (one entity's rows in memory at a time, a few
 * entities written at once) and writes them before the chunk's checkpoint, so a run killed
 * or paused midway writes them again on resume (conditional on `bs`, so nothing twice) and
 * the watermark moves only after every base is written.
 */
export function athenaTileBaseWriter(options: {
  readonly registry: RuntimeRegistry;
  readonly view: RuntimeFeatureView;
  readonly planned: PlannedView;
  readonly runner: Pick<AthenaQueryRunner, 'run' | 'typedRows'>;
  readonly dialect: Dialect;
  /** The source's commit records (every one, with its file), read once per invocation. */
  readonly records: () => Promise<readonly IngestRecord[]>;
  /**
   * Where counted ranges past `maxRangesInText` are shipped as data; absent, they are named in
   * the text, and a query too long for Athena is refused.
   */
  readonly ranges?: TileBaseRangesTable;
  readonly client: DynamoDBClient;
  readonly table: string;
  readonly now: () => number;
  readonly signal?: AbortSignal;
  /** Test hook: called between an entity's item writes and its write token's renewal. */
  readonly beforeToken?: () => void;
}): TileBaseWriter | undefined {
  const spec = viewTileSpec(options.registry, options.view);
  if (!spec) return undefined;
  let opened: Promise<Opened | undefined> | undefined;
  return {
    async writeEntities(rows, run) {
      if (rows.length === 0) return none;
      if (!run)
        throw new Error(
          `internal: ${options.view.name}'s tile bases on AWS are read in one query per run and need the run's query`,
        );
      opened ??= open(options, spec, run);
      const base = await opened;
      if (!base) return none;
      return writeChunk(options, spec, base, rows);
    },
  };
}

interface Opened {
  /** The base's version (baseVersion), kept in each item's `bs`. */
  readonly version: bigint;
  /** The instant the base is computed at (epoch ms): rows and items before its window are left. */
  readonly nowMs: number;
  readonly groups: EntityGroups;
}

async function open(
  options: Parameters<typeof athenaTileBaseWriter>[0],
  spec: ViewTileSpec,
  run: LatestRowsQuery,
): Promise<Opened | undefined> {
  const records = await options.records();
  const sequence = tileBaseSequence(
    records,
    options.view.source,
    options.view.onlineStore.keyPrefix,
  );
  if (!sequence) return undefined;
  const nowMs = options.now();
  const logsUpTo = pushLogOrder(records, options.view.source);
  const groups = await queryTileBaseGroups(options, spec, sequence, logsUpTo, nowMs, {
    sql: renderMaterializationRows(run, options.dialect),
  });
  return { version: sequence.version, nowMs, groups };
}

/**
 * Starts the base query of the entities `entities.sql` yields (of the records read, as of
 * `nowMs`), refused before Athena when too long, and reads its result as entity groups, each
 * base row with the push keys committed up to it (`logsUpTo`, pushLogOrder of the same records:
 * `last` orders tiled pushed rows against it as offline, ADR 0020 "Ties for `last`").
 * `everyEntity`: an entity without base rows comes as a group of none (a sharded run's shard).
 */
export async function queryTileBaseGroups(
  options: Pick<
    Parameters<typeof athenaTileBaseWriter>[0],
    'view' | 'planned' | 'dialect' | 'runner' | 'signal' | 'ranges'
  >,
  spec: ViewTileSpec,
  sequence: NonNullable<ReturnType<typeof tileBaseSequence>>,
  logsUpTo: (seq: bigint) => string | undefined,
  nowMs: number,
  entities: { readonly sql: string; readonly everyEntity?: boolean },
): Promise<EntityGroups> {
  const counted = subtractSeqRanges(sequence.readRanges, sequence.pushRanges);
  // Past a thousand, the ranges go as data (ADR 0020, "Bounded query text"): the same rows.
  const countedRangesRelation =
    options.ranges && counted.length > maxRangesInText
      ? await options.ranges.ship(counted)
      : undefined;
  const sql = renderTileBaseRows(options.planned, options.dialect, {
    entities: { sql: entities.sql },
    ...(entities.everyEntity ? { everyEntity: true } : {}),
    afterMicros: BigInt(nowMs) * 1000n - BigInt(spec.widestWindowSeconds) * 1_000_000n,
    maxSeq: sequence.maxSeq,
    includedSeqRanges: sequence.readRanges,
    excludedSeqRanges: sequence.pushRanges,
    ...(countedRangesRelation === undefined ? {} : { countedRangesRelation }),
    columns: spec.columnTypes,
  });
  checkBaseQuerySize(sql, options.view, sequence);
  const { queryExecutionId } = await options.runner.run(
    sql,
    options.signal ? { signal: options.signal } : {},
  );
  const rows = options.runner.typedRows(queryExecutionId)[Symbol.asyncIterator]();
  return tileBaseGroups(options.view, spec, rows, logsUpTo);
}

/**
 * Without a ranges table, the base query names one `fstore_seq` range per run of counted rows
 * of the records read (the ingests not applied to tiles, render-tile-base-rows.ts): refused
 * before Athena is asked when that makes it longer than Athena takes, saying where the ranges
 * come from. With one, only a run query too long on its own can be refused here.
 */
function checkBaseQuerySize(
  sql: string,
  view: RuntimeFeatureView,
  sequence: NonNullable<ReturnType<typeof tileBaseSequence>>,
): void {
  if (athenaQueryBytes(sql) <= maxAthenaQueryBytes) return;
  const ranges = subtractSeqRanges(sequence.readRanges, sequence.pushRanges).length;
  checkAthenaQuerySize(
    sql,
    `the tile base query of view ${view.name} (source ${view.source}), naming ${ranges.toLocaleString('en-US')} fstore_seq ranges (one per ingest of rows not applied to tiles: batch ingests, untiled pushes),`,
    `ingest ${view.source}'s batch rows in fewer, larger ingests and push rows to both stores; until then ${view.name}'s runs fail here (ADR 0020, "Where"): drop onlineTiles from it to materialize it without a base`,
  );
}

/**
 * The entity groups of a key-ordered tile base query's result (typedBaseRow reads Athena's
 * text). A row with no `fstore_seq` (an entity without base rows, `everyEntity`) opens a group
 * of no rows. An entity key too long for any item (the run quarantined its row) gets a prefix
 * no real one can equal (`unkeyableEntity`), so a reader passes over its group.
 */
export function tileBaseGroups(
  view: RuntimeFeatureView,
  spec: ViewTileSpec,
  rows: AsyncIterator<Record<string, unknown>>,
  logsUpTo: (seq: bigint) => string | undefined,
): EntityGroups {
  return new EntityGroups(rows, (row) => {
    const keys = view.joinKeys.map((key) => joinKeyValue(key.type, row[key.name]));
    try {
      if (row.fstore_seq === null || row.fstore_seq === undefined)
        return { prefix: entityPrefix(view, keysOnly(view, row)), keys };
      const { prefix, base } = baseRowOf(view, spec, typedBaseRow(view, spec, row));
      const pushLogsUpTo = logsUpTo(base.seq);
      return { prefix, base: pushLogsUpTo === undefined ? base : { ...base, pushLogsUpTo }, keys };
    } catch (error) {
      if (!(error instanceof EntityKeyError)) throw error;
      return { prefix: `${unkeyableEntity}${keys.map(String).join(unkeyableEntity)}`, keys };
    }
  });
}

/** The start of the prefix of a group whose entity key fits no item. */
export const unkeyableEntity = '\u0000';

/** One chunk: its entities in the run's order, each taking the next group when it is its own. */
async function writeChunk(
  options: Parameters<typeof athenaTileBaseWriter>[0],
  spec: ViewTileSpec,
  base: Opened,
  rows: readonly Record<string, unknown>[],
): Promise<TileBaseCounts> {
  const counts = { entities: 0, itemsWritten: 0, itemsAlreadyNewer: 0 };
  const chunkPrefixes = new Set<string>();
  const writing = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  const write = (prefix: string, entityRows: BaseRow[]) => {
    const task = writeBaseTiles(
      {
        client: options.client,
        table: options.table,
        prefix,
        sumKinds: spec.sumKinds,
        widestWindowSeconds: spec.widestWindowSeconds,
      },
      entityRows,
      base.version,
      {
        nowMs: base.nowMs,
        ...(options.beforeToken ? { beforeToken: options.beforeToken } : {}),
      },
    ).then(
      (written) => {
        counts.entities++;
        counts.itemsWritten += written.written;
        counts.itemsAlreadyNewer += written.alreadyNewer;
      },
      (error: unknown) => {
        failure ??= { error };
      },
    );
    writing.add(task);
    void task.finally(() => writing.delete(task));
  };
  for (const row of rows) {
    if (failure) break;
    const keyed = keysOnly(options.view, row);
    const prefix = baseRowOf(options.view, spec, keyed).prefix;
    const keys = options.view.joinKeys.map((key) => keyed[key.name]);
    chunkPrefixes.add(prefix);
    // The base query runs the run's query again, later: an ingest committed in between can add
    // an entity the run's rows lack. Its group sorts before the run's next entity and is not
    // this run's to write (the next run writes it); held, it would hide every later entity.
    for (
      let next = await base.groups.peekKeys();
      next !== undefined && compareEntityKeys(next, keys) < 0;
      next = await base.groups.peekKeys()
    )
      await base.groups.skip();
    // No base row in the widest window: written with none, so a base it still stores is cleared.
    const entityRows = (await base.groups.peek()) === prefix ? await base.groups.take() : [];
    while (writing.size >= entityConcurrency && !failure) await Promise.race(writing);
    if (failure) break;
    write(prefix, entityRows);
  }
  await Promise.all(writing);
  if (failure) throw failure.error;
  const next = await base.groups.peek();
  if (next !== undefined && chunkPrefixes.has(next))
    throw new Error(
      `internal: the tile base rows of ${options.view.name} came in another key order than the run's rows (${next})`,
    );
  return counts;
}

/**
 * The order of both queries' `ORDER BY` on join keys: integers by value, strings by code point
 * (Trino and DuckDB compare varchar by its UTF-8 bytes, which is code point order; JavaScript's
 * `<` compares UTF-16 units, which differs past U+FFFF), then the next key.
 */
export function compareEntityKeys(a: readonly unknown[], b: readonly unknown[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const order = compareKey(a[i], b[i]);
    if (order !== 0) return order;
  }
  return 0;
}

function compareKey(a: unknown, b: unknown): number {
  if (typeof a === 'string' && typeof b === 'string')
    return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
  if (
    (typeof a === 'bigint' || typeof a === 'number') &&
    (typeof b === 'bigint' || typeof b === 'number')
  ) {
    const x = BigInt(a);
    const y = BigInt(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  throw new Error(`internal: join key values ${String(a)} and ${String(b)} cannot be ordered`);
}

/** A row's join keys, typed as the base rows' are, with placeholders for the rest. */
function keysOnly(
  view: RuntimeFeatureView,
  row: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const keys: Record<string, unknown> = { fstore_t: 0, fstore_created: null, fstore_seq: 0 };
  for (const key of view.joinKeys) keys[key.name] = joinKeyValue(key.type, row[key.name]);
  return keys;
}

function joinKeyValue(type: string, value: unknown): unknown {
  if (type === 'string' || typeof value !== 'string') return value;
  return BigInt(value);
}

/**
 * A result row typed as the tile base query's columns are, whatever types Athena reported:
 * integers past 2^53 come as text, and a value typed as text (varchar) is parsed by its source
 * column's type, so the base holds what the training set reads.
 */
export function typedBaseRow(
  view: RuntimeFeatureView,
  spec: ViewTileSpec,
  row: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const typed: Record<string, unknown> = {
    fstore_t: integer(row.fstore_t),
    fstore_created: row.fstore_created === null ? null : integer(row.fstore_created),
    fstore_seq: integer(row.fstore_seq),
  };
  for (const key of view.joinKeys) typed[key.name] = joinKeyValue(key.type, row[key.name]);
  for (const [column, type] of Object.entries(spec.columnTypes)) {
    const value = row[column];
    typed[column] =
      value === null || value === undefined || typeof value !== 'string'
        ? (value ?? null)
        : listElementType(type) || type === 'bool'
          ? value === 'true'
          : type === 'int32' || type === 'int64' || type === 'timestamp'
            ? BigInt(value)
            : type === 'float32' || type === 'float64'
              ? Number(value)
              : value;
  }
  return typed;
}

function integer(value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' || typeof value === 'string') return BigInt(value);
  throw new Error(`internal: a tile base row has ${String(value)} where an integer belongs`);
}

/**
 * The rows of a key-ordered result as consecutive groups of one entity: `peek` names the next
 * group's entity, `take` reads its rows. Holds one entity's rows and the first row of the next.
 */
export class EntityGroups {
  private head: { prefix: string; base?: BaseRow; keys?: readonly unknown[] } | undefined;
  private started = false;
  private ended = false;

  constructor(
    private readonly rows: AsyncIterator<Record<string, unknown>>,
    /** A row's entity and base row (none: the entity has no base row, only this marker). */
    private readonly baseOf: (row: Record<string, unknown>) => {
      prefix: string;
      base?: BaseRow;
      keys?: readonly unknown[];
    },
  ) {}

  /** The join key values of the next group's entity (when `baseOf` gives them). */
  async peekKeys(): Promise<readonly unknown[] | undefined> {
    await this.peek();
    return this.head?.keys;
  }

  /** Passes over the next group without keeping its rows. */
  async skip(): Promise<void> {
    const prefix = await this.peek();
    while (this.head && this.head.prefix === prefix) await this.advance();
  }

  async peek(): Promise<string | undefined> {
    if (!this.started) {
      this.started = true;
      await this.advance();
    }
    return this.head?.prefix;
  }

  async take(): Promise<BaseRow[]> {
    const prefix = await this.peek();
    const group: BaseRow[] = [];
    while (this.head && this.head.prefix === prefix) {
      if (this.head.base) group.push(this.head.base);
      await this.advance();
    }
    return group;
  }

  private async advance(): Promise<void> {
    if (this.ended) {
      this.head = undefined;
      return;
    }
    const next = await this.rows.next();
    if (next.done) {
      this.ended = true;
      this.head = undefined;
      return;
    }
    this.head = this.baseOf(next.value);
  }
}
