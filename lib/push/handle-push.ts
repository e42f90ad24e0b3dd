import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ApiError, type ApiResponse, errorResponse, jsonResponse } from '../api/api-error.ts';
import { requireJsonContentType } from '../api/content-type.ts';
import { parseJsonBody } from '../api/parse-json-body.ts';
import { identifierPattern } from '../definitions/identifiers.ts';
import { firstLine } from '../hinted-error.ts';
import { DamagedTileItemError } from '../online/aggregation-tiles/damaged-tile-item.ts';
import type { PutItem } from '../online/dynamodb-batch-get/signed-put-item.ts';
import type { RuntimeRegistry } from '../registry/runtime-projection.ts';
import { executePush, type PushStore } from './execute-push.ts';
import { OfflinePushUnavailableError, PushLogWriteError } from './offline-push-unavailable.ts';
import { pushBodyShape } from './push-body.ts';
import type { PushIdentity } from './push-id.ts';
import {
  IdempotencyStoreError,
  idempotencyKeyOf,
  idempotentReplayedHeader,
  type PushIdempotency,
} from './push-idempotency.ts';
import type { PushLimits } from './push-limits.ts';
import { pushSource } from './push-source.ts';
import { storeFailure } from './push-store-failure.ts';

export interface PushRequest {
  readonly method: string;
  readonly path: string;
  readonly body?: string | null;
  /** When given, the body must be declared JSON (415 otherwise); callers without HTTP leave it out. */
  readonly headers?: Readonly<Record<string, string | undefined>>;
  readonly requestId?: string;
  /** Who sent it (push-caller.ts), which scopes an Idempotency-Key; undefined when unknown. */
  readonly caller?: string;
}

export interface PushDependencies {
  readonly registry: RuntimeRegistry;
  readonly limits: PushLimits;
  readonly client: DynamoDBClient;
  /** Sends the online puts instead of `client` when given: the signed PutItem client. */
  readonly putItem?: PutItem;
  readonly table: string;
  /** The offline store numbers rows by the clock (S3): see OnlinePushTarget.seqFromClock. */
  readonly seqFromClock?: boolean;
  readonly now?: () => number;
  /** Stores rows for the offline store (the local push log); without it offline targets answer 501. */
  readonly offline?: PushStore['offline'];
  /**
   * Idempotency-Key records (Powertools' DynamoDB persistence); without them a push carrying
   * the header answers 501 rather than risk writing twice.
   */
  readonly idempotency?: PushIdempotency;
  /** Logs what answered 5xx (a store failure or a bug); the answer carries only the request id. */
  readonly onError?: (error: unknown, requestId?: string) => void;
}

export const pushPathPrefix = '/v1/push/';

/**
 * `POST /v1/push/{source}` (docs/adr/0015-push.md): checks the whole request, then writes its
 * rows online through the conditional writer and answers the counts. Client mistakes are 4xx
 * with a JSON path and nothing written; a store failure is 503 (a retry is harmless: the
 * writes are conditional); only a bug is 500.
 */
export async function handlePush(
  request: PushRequest,
  deps: PushDependencies,
): Promise<ApiResponse> {
  try {
    return await push(request, deps);
  } catch (error) {
    if (error instanceof ApiError) return errorResponse(error);
    deps.onError?.(error, request.requestId);
    const seeLogs =
      request.requestId === undefined
        ? 'the service logs'
        : `the service logs under request id ${request.requestId}`;
    const details = request.requestId === undefined ? {} : { requestId: request.requestId };
    const failed =
      error instanceof IdempotencyStoreError
        ? 'the Idempotency-Key store (the table of push keys and answers) failed during the push; the rows may or may not be written'
        : error instanceof OfflinePushUnavailableError
          ? "the offline push buffer (the source's Firehose stream) failed before any online write; some rows may be stored offline"
          : error instanceof PushLogWriteError
            ? `${error.message}, before any online write: nothing was written (free space or fix the data directory)`
            : storeFailure(error)
              ? 'the online store failed during the push; some rows may be written'
              : undefined;
    if (failed !== undefined)
      return errorResponse(
        new ApiError(
          503,
          'STORE_UNAVAILABLE',
          `${failed}, and retrying the same push is safe (${seeLogs} say more)`,
          details,
          { headers: { 'retry-after': '1' } },
        ),
      );
    // The store's data, not the caller, is at fault, and a retry meets the same item: the
    // answer names it (a key of the caller's own rows), with no Retry-After.
    if (error instanceof DamagedTileItemError)
      return errorResponse(
        new ApiError(
          500,
          'INTERNAL',
          `the online store holds a damaged item: ${firstLine(error)}; some rows of this push may be written, and a retry meets the same item (${seeLogs} say more)`,
          details,
        ),
      );
    return errorResponse(
      new ApiError(500, 'INTERNAL', `unexpected error; see ${seeLogs}`, details),
    );
  }
}

async function push(request: PushRequest, deps: PushDependencies): Promise<ApiResponse> {
  const name = sourceName(request.path);
  if (request.method.toUpperCase() !== 'POST')
    throw new ApiError(
      405,
      'METHOD_NOT_ALLOWED',
      `${request.path} accepts POST, not ${request.method}`,
      { allowed: ['POST'] },
      { headers: { allow: 'POST' } },
    );
  if (request.headers) requireJsonContentType(request.headers);
  const key = idempotencyKeyOf(request.headers);
  if (key !== undefined && !deps.idempotency)
    throw new ApiError(
      501,
      'IDEMPOTENCY_UNAVAILABLE',
      'this server keeps no Idempotency-Key records, so it cannot promise one write per key; send the push without the header (a resent push is harmless online: the writes are conditional)',
      { path: '$headers.idempotency-key' },
    );
  const source = pushSource(deps.registry, name);
  const text = request.body ?? '';
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > deps.limits.maxBodyBytes)
    throw new ApiError(
      413,
      'BODY_TOO_LARGE',
      `request body is over the limit of ${deps.limits.maxBodyBytes} bytes`,
      { path: '$', limit: deps.limits.maxBodyBytes },
    );
  const body = pushBodyShape(parseJsonBody(text === '' ? 'null' : text), deps.limits);
  const run = (identity?: PushIdentity) =>
    executePush(
      {
        registry: deps.registry,
        online: {
          client: deps.client,
          ...(deps.putItem ? { putItem: deps.putItem } : {}),
          table: deps.table,
          ...(deps.seqFromClock ? { seqFromClock: true } : {}),
        },
        ...(deps.now ? { now: deps.now } : {}),
        ...(deps.offline ? { offline: deps.offline } : {}),
      },
      deps.limits,
      source.name,
      body,
      identity,
    );
  if (key === undefined || !deps.idempotency) return jsonResponse(200, await run());
  const { answer, replayed } = await deps.idempotency.run(
    key,
    {
      source: source.name,
      body,
      ...(request.caller === undefined ? {} : { caller: request.caller }),
    },
    run,
  );
  const response = jsonResponse(200, answer);
  return replayed
    ? { ...response, headers: { ...response.headers, [idempotentReplayedHeader]: 'true' } }
    : response;
}

function sourceName(path: string): string {
  const raw = path.replace(/\/+$/, '').slice(pushPathPrefix.length);
  let name: string;
  try {
    name = decodeURIComponent(raw);
  } catch {
    throw new ApiError(
      400,
      'INVALID_NAME',
      'the source name in the path is not valid URL encoding',
      {
        path: '$path',
      },
    );
  }
  if (!path.startsWith(pushPathPrefix) || !identifierPattern.test(name))
    throw new ApiError(
      400,
      'INVALID_NAME',
      `"${name.slice(0, 100)}" is not a source name ([a-z][a-z0-9_]*)`,
      { path: '$path' },
    );
  return name;
}
