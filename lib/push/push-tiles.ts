import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { microsOfMillis } from '../epoch-micros.ts';
import { clockSeq } from '../offline/clock-seq.ts';
import {
  tileValueOf,
  type ViewTileSpec,
  viewTileSpec,
} from '../online/aggregation-tiles/view-tile-spec.ts';
import { applyRowToTiles, type TileRow } from '../online/aggregation-tiles/write-row-tiles.ts';
import { encodeEntityKey, partitionKey } from '../online/entity-key.ts';
import type { RuntimeFeatureView, RuntimeRegistry } from '../registry/runtime-projection.ts';
import { onlineAggregationViews } from './push-source.ts';
import type { PushRow } from './validate-push-rows.ts';

/** The rows of one push (or stream record) for one tile-fed view, each with its tiles' prefix. */
export interface ViewTileRows {
  readonly view: RuntimeFeatureView;
  readonly spec: ViewTileSpec;
  readonly rows: readonly { readonly prefix: string; readonly row: TileRow }[];
}

/** What the tiles of one view took from a push. */
export interface TileCounts {
  readonly view: string;
  /** Rows added to the view's tiles. */
  readonly added: number;
  /** Rows the tiles already held (a retried push, a replayed record): not counted again. */
  readonly alreadyCounted: number;
  /** Rows at or before `now - widest window`: no window can hold them, so nothing is written. */
  readonly outsideWindows: number;
}

/** Online aggregation views of the source that have tiles (any feature but `count_distinct`). */
export function onlineTileViews(registry: RuntimeRegistry, source: string): RuntimeFeatureView[] {
  return onlineAggregationViews(registry, source).filter((v) => viewTileSpec(registry, v));
}

/**
 * Every row as a tile row of every tile-fed view of the source, with its id (`rowId`: a push's
 * `<push id>:<row index>`, a stream record's `<shard id>:<sequence number>`, ADR 0020).
 */
export function tileRowsOf(
  registry: RuntimeRegistry,
  source: string,
  rows: readonly PushRow[],
  rowId: (row: PushRow) => string,
  seqFromClockAtMs?: number,
): ViewTileRows[] {
  const seq = seqFromClockAtMs === undefined ? null : BigInt(clockSeq(seqFromClockAtMs));
  return onlineTileViews(registry, source).map((view) => {
    const spec = viewTileSpec(registry, view) as ViewTileSpec;
    return {
      view,
      spec,
      rows: rows.map((row) => {
        const values: Record<string, ReturnType<typeof tileValueOf>> = {};
        for (const [column, type] of Object.entries(spec.columnTypes))
          values[column] = tileValueOf(type, row.values[column]);
        return {
          prefix: partitionKey(
            view.onlineStore.keyPrefix,
            encodeEntityKey(view.joinKeys, row.values),
          ),
          row: {
            id: rowId(row),
            eventMicros: row.eventTs,
            createdMicros: row.createdTs ?? null,
            seq,
            values,
          },
        };
      }),
    };
  });
}

/**
 * The tile rows of a push whose rows went to the push log `pushLog` (its key, pushLogKey): each
 * row carries it, so `last` orders it on a full tie as the log's ingest will (IngestOrder).
 */
export function rowsInPushLog(views: readonly ViewTileRows[], pushLog: string): ViewTileRows[] {
  return views.map((view) => ({
    ...view,
    rows: view.rows.map(({ prefix, row }) => ({ prefix, row: { ...row, pushLog } })),
  }));
}

/**
 * Applies the rows to their views' tiles (applyRowToTiles): rows of one entity one after
 * another (they share items, so in parallel they would only conflict and re-read), entities
 * `concurrency` at a time. Throws the first store failure once every started row has ended;
 * a retry of the same push or record is safe, its rows' ids make it count once.
 */
export async function sendTileRows(
  target: { readonly client: DynamoDBClient; readonly table: string; readonly nowMs: number },
  views: readonly ViewTileRows[],
  concurrency = 16,
): Promise<TileCounts[]> {
  const nowMicros = microsOfMillis(target.nowMs);
  return Promise.all(
    views.map(async ({ view, spec, rows }) => {
      const byEntity = new Map<string, TileRow[]>();
      for (const { prefix, row } of rows)
        byEntity.set(prefix, [...(byEntity.get(prefix) ?? []), row]);
      const counts = { view: view.name, added: 0, alreadyCounted: 0, outsideWindows: 0 };
      let failure: unknown;
      await inPool([...byEntity], concurrency, async ([prefix, entityRows]) => {
        for (const row of entityRows) {
          if (failure !== undefined) return;
          try {
            const result = await applyTileRow(
              target.client,
              target.table,
              spec,
              prefix,
              row,
              nowMicros,
            );
            if (result.tooOld) counts.outsideWindows++;
            else if (result.applied) counts.added++;
            else counts.alreadyCounted++;
          } catch (error) {
            failure ??= error;
          }
        }
      });
      if (failure !== undefined) throw failure;
      return counts;
    }),
  );
}

/** One row into one view's tiles for the entity of `prefix` (applyRowToTiles). */
export function applyTileRow(
  client: DynamoDBClient,
  table: string,
  spec: ViewTileSpec,
  prefix: string,
  row: TileRow,
  nowMicros: bigint,
) {
  return applyRowToTiles(
    {
      client,
      table,
      prefix,
      sumKinds: spec.sumKinds,
      widestWindowSeconds: spec.widestWindowSeconds,
      nowMicros: () => nowMicros,
    },
    row,
  );
}

async function inPool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}
