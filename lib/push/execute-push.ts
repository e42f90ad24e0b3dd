import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ApiError } from '../api/api-error.ts';
import { microsOfMillis } from '../epoch-micros.ts';
import type { PutItem } from '../online/dynamodb-batch-get/signed-put-item.ts';
import type { RuntimeRegistry, RuntimeSource } from '../registry/runtime-projection.ts';
import type { PushBody } from './push-body.ts';
import { newPushId, type PushIdentity } from './push-id.ts';
import type { PushLimits } from './push-limits.ts';
import { onlinePushViews, pushSource } from './push-source.ts';
import { writesOffline, writesOnline } from './push-target.ts';
import { onlineTileViews, rowsInPushLog } from './push-tiles.ts';
import { type PushRow, validatePushRows } from './validate-push-rows.ts';
import {
  buildOnlinePush,
  type OnlinePushPlan,
  type OnlinePushResult,
  sendOnlinePush,
} from './write-push-online.ts';

export interface PushStore {
  readonly registry: RuntimeRegistry;
  /** The online store; only pushes with an online target need it. */
  readonly online?: {
    readonly client: DynamoDBClient;
    /** Sends the puts instead of `client` when given (OnlinePushTarget.putItem). */
    readonly putItem?: PutItem;
    readonly table: string;
    /** Items rank by the push time on the S3 store's clock (OnlinePushTarget.seqFromClock). */
    readonly seqFromClock?: boolean;
  };
  readonly now?: () => number;
  /**
   * Stores rows durably for the offline store (the local append log); without it the offline
   * targets answer 501. `push` identifies the push: the offline store keeps each push id once.
   * It resolves once the rows survive a crash of this process; when their last step to survive
   * a power cut too (the log folder's fsync) is still running, it returns that as `durable`:
   * the online puts are sent meanwhile and the push answers after both. `push.tiles` names the
   * tile-fed view versions (tile item prefixes) this push applies the rows to (ADR 0020): the
   * offline store keeps them with the rows, so each view version's base counts exactly the
   * pushed rows its own tiles do not hold. `pushLog`, the key of the log the rows went to (the
   * local store), orders them in the tiles as their ingest will. `push.pushedAtMs` is the push
   * time the online items and tiles rank by on the clock (`seqFromClock`): the Firehose sink
   * stages it so compaction commits pushes in that order.
   */
  readonly offline?: (
    source: RuntimeSource,
    rows: readonly PushRow[],
    push: PushIdentity & { readonly tiles: readonly string[]; readonly pushedAtMs?: number },
  ) => Promise<void | { readonly durable?: Promise<void>; readonly pushLog?: string }>;
}

export interface PushAnswer {
  readonly source: string;
  readonly rows: number;
  readonly to: PushBody['to'];
  readonly online?: OnlinePushResult;
  /** Rows stored durably for the offline store; training sets see them after compaction. */
  readonly offline?: { readonly rows: number; readonly visible: 'after compaction' };
}

/**
 * One push, after its body's shape was checked (HTTP route and `fstore push` alike): the
 * source, the target, every row; then the online writes. Any refusal is an ApiError thrown
 * before the first write. `push` is the push's identity (an Idempotency-Key's scope, which
 * every retry of the push shares); without one a push to the offline store gets a fresh random id.
 */
export async function executePush(
  store: PushStore,
  limits: Pick<PushLimits, 'maxFutureSkewSeconds'>,
  sourceName: string,
  body: PushBody,
  push?: PushIdentity,
): Promise<PushAnswer> {
  const source = pushSource(store.registry, sourceName);
  // Views a push writes online: passthrough items, and aggregation views' tiles (ADR 0020).
  const tileViews = onlineTileViews(store.registry, source.name);
  const onlineViews = [...onlinePushViews(store.registry, source.name), ...tileViews];
  if (body.to === 'online' && onlineViews.length === 0)
    throw new ApiError(
      400,
      'NO_ONLINE_VIEWS',
      `$.to: no online feature view reads source "${source.name}", so "to": "online" would store nothing; mark a passthrough or aggregation view over it online: true (then fstore apply), or push "to": "offline"`,
      { path: '$.to', source: source.name },
    );
  if (writesOnline(body.to) && source.filter !== undefined && onlineViews.length > 0)
    throw new ApiError(
      400,
      'SOURCE_FILTERED',
      `$.to: source "${source.name}" declares a row filter, which a push does not evaluate, so rows the filter drops could be served online; push "to": "offline" (training sets and materialization apply the filter when they read it)`,
      { path: '$.to', source: source.name, to: body.to },
    );
  const nowMs = (store.now ?? Date.now)();
  const rows = validatePushRows(store.registry, source, body.rows, {
    nowMicros: microsOfMillis(nowMs),
    maxFutureSkewSeconds: limits.maxFutureSkewSeconds,
  });
  if (writesOffline(body.to) && !store.offline)
    throw new ApiError(
      501,
      'OFFLINE_PUSH_UNAVAILABLE',
      `$.to: this server cannot store pushed rows offline yet (only the local store can, docs/adr/0015-push.md); send "to": "online" (the rows then reach training sets only through fstore ingest)`,
      { path: '$.to', to: body.to, supported: ['online'] },
    );
  // Every put is built (and every row the item codec refuses answered 400) before anything is
  // written, so a refused push leaves no offline log behind to be ingested later.
  const onlineTarget = writesOnline(body.to)
    ? { ...onlineStore(store), registry: store.registry, now: () => nowMs }
    : undefined;
  // One identity for both halves: a keyed push that runs again has the same id, so its rows
  // land once offline and count once in the tiles; an unkeyed push is a new push each time.
  const identity = push ?? { pushId: newPushId() };
  const plan = onlineTarget
    ? buildOnlinePush(onlineTarget, source.name, rows, (row) => `${identity.pushId}:${row.index}`)
    : undefined;
  // Offline first: once the log is in place a failed online write is repaired by a retry (or by
  // materialization of the compacted rows); the reverse order could serve rows training never
  // sees. Only the log folder's fsync runs beside the puts: a process killed meanwhile leaves
  // the log whole under its name, so no put is ever sent for rows the offline store could lose.
  // Tiles: every row goes through applyRowToTiles of each of these view versions (a row older
  // than a view's widest window is left out there, and out of its base too).
  const tiles = writesOnline(body.to) ? tileViews.map((v) => v.onlineStore.keyPrefix) : [];
  const placed = writesOffline(body.to)
    ? await store.offline?.(source, rows, { ...identity, tiles, pushedAtMs: nowMs })
    : undefined;
  const [online] = await Promise.all([
    onlineTarget && plan
      ? sendOnlinePush(onlineTarget, inPushLog(plan, placed?.pushLog))
      : undefined,
    placed?.durable,
  ]);
  return {
    source: source.name,
    rows: rows.length,
    to: body.to,
    ...(online ? { online } : {}),
    ...(writesOffline(body.to)
      ? { offline: { rows: rows.length, visible: 'after compaction' as const } }
      : {}),
  };
}

function onlineStore(store: PushStore): NonNullable<PushStore['online']> {
  if (!store.online) throw new Error('a push to the online store was given no online store');
  return store.online;
}

/** The plan with its tile rows placed in the ingest order of `pushLog`, the push's log. */
function inPushLog(plan: OnlinePushPlan, pushLog: string | undefined): OnlinePushPlan {
  return pushLog === undefined ? plan : { ...plan, tiles: rowsInPushLog(plan.tiles, pushLog) };
}
