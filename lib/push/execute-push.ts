import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ApiError } from '../api/api-error.ts';
import { microsOfMillis } from '../epoch-micros.ts';
import type { RuntimeRegistry } from '../registry/runtime-projection.ts';
import type { PushBody } from './push-body.ts';
import type { PushLimits } from './push-limits.ts';
import { onlinePushViews, pushSource } from './push-source.ts';
import { writesOffline } from './push-target.ts';
import { validatePushRows } from './validate-push-rows.ts';
import { type OnlinePushResult, writePushOnline } from './write-push-online.ts';

export interface PushStore {
  readonly registry: RuntimeRegistry;
  readonly client: DynamoDBClient;
  readonly table: string;
  readonly now?: () => number;
}

export interface PushAnswer {
  readonly source: string;
  readonly rows: number;
  readonly to: PushBody['to'];
  readonly online: OnlinePushResult;
}

/**
 * One push, after its body's shape was checked (HTTP route and `fstore push` alike): the
 * source, the target, every row; then the online writes. Any refusal is an ApiError thrown
 * before the first write.
 */
export async function executePush(
  store: PushStore,
  limits: Pick<PushLimits, 'maxFutureSkewSeconds'>,
  sourceName: string,
  body: PushBody,
): Promise<PushAnswer> {
  const source = pushSource(store.registry, sourceName);
  if (body.to === 'online' && onlinePushViews(store.registry, source.name).length === 0)
    throw new ApiError(
      400,
      'NO_ONLINE_VIEWS',
      `$.to: no online feature view reads source "${source.name}", so "to": "online" would store nothing; mark a passthrough view over it online: true (then fstore apply), or push "to": "offline"`,
      { path: '$.to', source: source.name },
    );
  const nowMs = (store.now ?? Date.now)();
  const rows = validatePushRows(store.registry, source, body.rows, {
    nowMicros: microsOfMillis(nowMs),
    maxFutureSkewSeconds: limits.maxFutureSkewSeconds,
  });
  if (writesOffline(body.to))
    throw new ApiError(
      501,
      'OFFLINE_PUSH_NOT_BUILT',
      `$.to: pushing to the offline store is not built yet (docs/adr/0015-push.md); send "to": "online" (the rows then reach training sets only through fstore ingest)`,
      { path: '$.to', to: body.to, supported: ['online'] },
    );
  const online = await writePushOnline({ ...store, now: () => nowMs }, source.name, rows);
  return { source: source.name, rows: rows.length, to: body.to, online };
}
