import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ApiError, type ApiResponse, errorResponse, jsonResponse } from '../api/api-error.ts';
import { requireJsonContentType } from '../api/content-type.ts';
import { parseJsonBody } from '../api/parse-json-body.ts';
import { identifierPattern } from '../definitions/identifiers.ts';
import { microsOfMillis } from '../epoch-micros.ts';
import type { RuntimeRegistry } from '../registry/runtime-projection.ts';
import { pushBodyShape } from './push-body.ts';
import type { PushLimits } from './push-limits.ts';
import { onlinePushViews, pushSource } from './push-source.ts';
import { storeFailure } from './push-store-failure.ts';
import { writesOffline } from './push-target.ts';
import { validatePushRows } from './validate-push-rows.ts';
import { writePushOnline } from './write-push-online.ts';

export interface PushRequest {
  readonly method: string;
  readonly path: string;
  readonly body?: string | null;
  /** When given, the body must be declared JSON (415 otherwise); callers without HTTP leave it out. */
  readonly headers?: Readonly<Record<string, string | undefined>>;
  readonly requestId?: string;
}

export interface PushDependencies {
  readonly registry: RuntimeRegistry;
  readonly limits: PushLimits;
  readonly client: DynamoDBClient;
  readonly table: string;
  readonly now?: () => number;
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
    if (storeFailure(error))
      return errorResponse(
        new ApiError(
          503,
          'STORE_UNAVAILABLE',
          `the online store failed during the push; some rows may be written, and retrying the same push is safe (${seeLogs} say more)`,
          details,
          { headers: { 'retry-after': '1' } },
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
  if (body.to === 'online' && onlinePushViews(deps.registry, source.name).length === 0)
    throw new ApiError(
      400,
      'NO_ONLINE_VIEWS',
      `$.to: no online feature view reads source "${source.name}", so "to": "online" would store nothing; mark a passthrough view over it online: true (then fstore apply), or push "to": "offline"`,
      { path: '$.to', source: source.name },
    );
  const nowMs = (deps.now ?? Date.now)();
  const rows = validatePushRows(deps.registry, source, body.rows, {
    nowMicros: microsOfMillis(nowMs),
    maxFutureSkewSeconds: deps.limits.maxFutureSkewSeconds,
  });
  if (writesOffline(body.to))
    throw new ApiError(
      501,
      'OFFLINE_PUSH_NOT_BUILT',
      `$.to: pushing to the offline store is not built yet (docs/adr/0015-push.md); send "to": "online" (the rows then reach training sets only through fstore ingest)`,
      { path: '$.to', to: body.to, supported: ['online'] },
    );
  const online = await writePushOnline(
    { client: deps.client, table: deps.table, registry: deps.registry, now: () => nowMs },
    source.name,
    rows,
  );
  return jsonResponse(200, { source: source.name, rows: rows.length, to: body.to, online });
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
