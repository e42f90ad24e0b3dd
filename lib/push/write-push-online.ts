import { type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { ApiError } from '../api/api-error.ts';
import { definitionFingerprint } from '../materialize/definition-fingerprint.ts';
import { clockSeq } from '../offline/clock-seq.ts';
import { viewTileSpec } from '../online/aggregation-tiles/view-tile-spec.ts';
import { sendConditionalPuts } from '../online/conditional-puts.ts';
import type { PutItem } from '../online/dynamodb-batch-get/signed-put-item.ts';
import { EntityKeyError } from '../online/entity-key.ts';
import { ItemCodecError } from '../online/item-codec.ts';
import { putCommand } from '../online/online-writer.ts';
import type { RuntimeFeatureView, RuntimeRegistry } from '../registry/runtime-projection.ts';
import { planPointInTime } from '../sql/point-in-time-plan.ts';
import { newPushId } from './push-id.ts';
import { onlineAggregationViews, onlineDerivedViews, onlinePushViews } from './push-source.ts';
import { sendTileRows, type TileCounts, tileRowsOf, type ViewTileRows } from './push-tiles.ts';
import type { PushRow } from './validate-push-rows.ts';

export interface OnlinePushResult {
  readonly written: number;
  /**
   * Rows the stored item beats, left unchanged: it holds a later event time, or the same event
   * time and a later created time. A full tie (same event and created time) is written: the
   * later push wins (`laterPushWinsFullTie`), so nothing equal is counted here.
   */
  readonly skippedAsOlder: number;
  readonly views: readonly { view: string; written: number; skippedAsOlder: number }[];
  /** Online aggregation views whose tiles the push updated (ADR 0020); absent when none. */
  readonly tiles?: readonly TileCounts[];
  /** Online views the push does not update, with why. */
  readonly notUpdated: readonly { view: string; reason: string }[];
}

export interface OnlinePushTarget {
  readonly client: DynamoDBClient;
  /**
   * Sends the puts instead of `client` when given: the signed keep-alive PutItem client, whose
   * per-put cost is well below the SDK's (issue 17 §4). Same conditions, retries and errors.
   */
  readonly putItem?: PutItem;
  readonly table: string;
  readonly registry: RuntimeRegistry;
  /** Puts in flight per view (default 16). */
  readonly concurrency?: number;
  readonly now?: () => number;
  /**
   * The offline store numbers ingested rows by the clock (S3, `clockSeq`), as on AWS: each item
   * then carries the push time's sequence as its `fstore_seq`, so a materialization that runs
   * before the push is compacted never replaces it with a tied row ingested before the push,
   * and a tied row ingested after it still wins (docs/point-in-time.md, "Pushed rows"). Not
   * locally, where sequences count rows and every run ingests waiting push logs first.
   */
  readonly seqFromClock?: boolean;
}

/** Every put of one push, built and checked, ready to send. */
export interface OnlinePushPlan {
  readonly source: string;
  readonly views: readonly { view: RuntimeFeatureView; puts: readonly PutItemCommand[] }[];
  /** The rows for the tiles of every online aggregation view of the source. */
  readonly tiles: readonly ViewTileRows[];
}

/**
 * Builds every put of a push for every online passthrough view of its source, with the
 * materializer's conditional puts (an older event never replaces a newer one), each carrying
 * the view's definition fingerprint as a materialization would. Nothing is sent: a row the item
 * codec refuses (an item over 400 KB, a key over 2048 bytes) throws a 400 here, so a caller that
 * builds first writes nothing anywhere (neither online nor the offline log) for a refused push.
 */
export function buildOnlinePush(
  target: OnlinePushTarget,
  source: string,
  rows: readonly PushRow[],
  rowId: (row: PushRow) => string = unkeyedRowIds(),
): OnlinePushPlan {
  const nowMs = (target.now ?? Date.now)();
  return {
    source,
    views: onlinePushViews(target.registry, source).map((view) => ({
      view,
      puts: rows.map((row) => buildPut(target, view, row, nowMs)),
    })),
    tiles: tileRowsOf(
      target.registry,
      source,
      rows,
      rowId,
      target.seqFromClock ? nowMs : undefined,
    ),
  };
}

/** Row ids of a push without an identity: a new push id, so each such push counts again. */
function unkeyedRowIds(): (row: PushRow) => string {
  const pushId = newPushId();
  return (row) => `${pushId}:${row.index}`;
}

/** Sends the puts of a built push. */
export async function sendOnlinePush(
  target: OnlinePushTarget,
  plan: OnlinePushPlan,
): Promise<OnlinePushResult> {
  const nowMs = (target.now ?? Date.now)();
  const [sent, tiles] = await Promise.all([
    Promise.all(
      plan.views.map(async ({ view, puts }) => ({
        view: view.name,
        ...(await sendConditionalPuts(target.putItem ?? target.client, puts, {
          concurrency: target.concurrency ?? 16,
        })),
      })),
    ),
    sendTileRows(
      { client: target.client, table: target.table, nowMs },
      plan.tiles,
      target.concurrency ?? 16,
    ),
  ]);
  return {
    written: sent.reduce((sum, v) => sum + v.written, 0),
    skippedAsOlder: sent.reduce((sum, v) => sum + v.skippedAsOlder, 0),
    views: sent.map(({ view, written, skippedAsOlder }) => ({ view, written, skippedAsOlder })),
    ...(tiles.length > 0 ? { tiles } : {}),
    notUpdated: [
      ...batchFreshAggregations(target.registry, plan.source),
      ...onlineDerivedViews(target.registry, plan.source).map((view) => ({
        view: view.name,
        reason:
          'a view with derived features (expr): push does not evaluate expressions; materialization computes them from offline rows',
      })),
    ],
  };
}

/**
 * Online aggregation views, or their features, that only materialization updates: views
 * without `onlineTiles`, and the `count_distinct` features of views with them (ADR 0020).
 */
function batchFreshAggregations(
  registry: RuntimeRegistry,
  source: string,
): { view: string; reason: string }[] {
  return onlineAggregationViews(registry, source).flatMap((view) => {
    if (!view.onlineTiles)
      return [
        {
          view: view.name,
          reason:
            'an aggregation view without onlineTiles: its windows are computed by materialization from offline rows',
        },
      ];
    const distinct = (view.aggregations ?? [])
      .filter((a) => a.function === 'count_distinct')
      .map((a) => a.feature);
    if (distinct.length === 0) return [];
    const which = viewTileSpec(registry, view)
      ? `its count_distinct features (${distinct.join(', ')})`
      : 'its features (all count_distinct)';
    return [
      {
        view: view.name,
        reason: `${which} stay batch-fresh: exact distinct counts have no tiles, so materialization computes them from offline rows (ADR 0020)`,
      },
    ];
  });
}

function buildPut(
  target: OnlinePushTarget,
  view: RuntimeFeatureView,
  row: PushRow,
  nowMs: number,
): PutItemCommand {
  try {
    const put = putCommand(
      target.table,
      view,
      {
        values: row.values,
        eventTs: row.eventTs,
        ...(row.createdTs !== undefined ? { createdTs: row.createdTs } : {}),
        ...(target.seqFromClock ? { seq: clockSeq(nowMs) } : {}),
      },
      nowMs,
      fingerprint(target.registry, view),
    );
    return laterPushWinsFullTie(put, row.createdTs !== undefined);
  } catch (error) {
    if (!(error instanceof ItemCodecError || error instanceof EntityKeyError)) throw error;
    throw new ApiError(
      400,
      'INVALID_ROW',
      `$.rows[${row.index}]: ${error.message} (view "${view.name}")`,
      { path: `$.rows[${row.index}]`, row: row.index, reason: error.message },
      { cause: error },
    );
  }
}

/**
 * Lets the put also replace an item with the same event time and created time (whatever its
 * `fstore_seq`): of two tied pushes the later one wins, as offline, where its log is compacted
 * after the earlier one's (log names sort in write order) and after every row already ingested,
 * so its rows get the higher `fstore_seq` (docs/point-in-time.md, "Push").
 */
function laterPushWinsFullTie(put: PutItemCommand, created: boolean): PutItemCommand {
  const names = put.input.ExpressionAttributeNames ?? {};
  if (!names['#e'] || !names['#c'])
    throw new Error('internal: a push put names no event or created time attribute');
  const tie = created ? '(#e = :e AND #c = :c)' : '(#e = :e AND attribute_not_exists(#c))';
  return new PutItemCommand({
    ...put.input,
    ConditionExpression: `${put.input.ConditionExpression} OR ${tie}`,
  });
}

const fingerprints = new WeakMap<RuntimeFeatureView, string>();

/** The definition fingerprint materialization writes with, so a full run keeps newer pushed items. */
function fingerprint(registry: RuntimeRegistry, view: RuntimeFeatureView): string {
  const known = fingerprints.get(view);
  if (known) return known;
  const [planned] = planPointInTime(
    registry,
    { features: [`${view.name}:*`] },
    { entityTimestampColumn: 'fstore_unused' },
  ).views;
  if (!planned) throw new Error(`view ${view.name} has no features to plan`);
  const value = definitionFingerprint(view, planned);
  fingerprints.set(view, value);
  return value;
}
