import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { ApiError, type ApiResponse, errorResponse } from '../api/api-error.ts';
import { HintedError } from '../hinted-error.ts';
import { clientErrorAnswer, hostRefusal, rawErrorResponse } from './http-guards.ts';
import { readLimitedBody } from './read-limited-body.ts';

/** What API Gateway (HTTP API, payload 2.0) hands the lookup Lambda; the local server builds the same. */
export interface HttpApiEvent {
  readonly version: '2.0';
  readonly rawPath: string;
  readonly rawQueryString: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
  readonly isBase64Encoded: boolean;
  readonly requestContext: {
    /** A random UUID per request, also sent back as `x-request-id`. */
    readonly requestId: string;
    readonly http: { readonly method: string; readonly path: string; readonly sourceIp: string };
  };
}

export interface LocalHttpServer {
  readonly url: string;
  close(): Promise<void>;
}

export interface HttpServerOptions {
  readonly port: number;
  readonly host?: string;
  /** Bodies over this many bytes answer 413 and close the connection. */
  readonly maxBodyBytes: number;
  /** Time allowed for a request's line and headers (default 10 s); then 408 and close. */
  readonly headersTimeoutMs?: number;
  /** Time allowed for a whole request, body included (default 10 s); then 408 and close. */
  readonly requestTimeoutMs?: number;
  /** Where unexpected errors go (they answer 500); default stderr. */
  readonly log?: (message: string, error: unknown) => void;
  /** Serves `/v1/push/*` (docs/adr/0015-push.md) behind the same guards; without it those paths go to `handle`. */
  readonly push?: (event: HttpApiEvent) => Promise<ApiResponse>;
}

/**
 * Serves a Lambda-style handler on a local port: each HTTP request becomes an API Gateway v2
 * event, the handler's response becomes the HTTP response. Whatever a client sends, the process
 * lives: every answer it gives is the API's JSON error shape (or the handler's response).
 * - bodies over `maxBodyBytes` answer 413 and close the connection, unread;
 * - requests that stall (headers or body) answer 408 after the timeouts; clients that leave
 *   mid-request are dropped;
 * - requests Node's parser refuses answer 400 (malformed, unknown method) or 431 (headers);
 * - a `Host` that is not a loopback name answers 421 (DNS rebinding), see `hostRefusal`;
 * - a handler that throws answers 500 and is logged.
 * Each request gets a random UUID as its id: the event's `requestContext.requestId` (the lookup
 * handler's logs and 5xx bodies name it) and the `x-request-id` header of its answer.
 */
export async function startHttpServer(
  handle: (event: HttpApiEvent) => Promise<ApiResponse>,
  options: HttpServerOptions,
): Promise<LocalHttpServer> {
  const host = options.host ?? '127.0.0.1';
  const log = options.log ?? ((message: string, error: unknown) => console.error(message, error));
  const headersTimeout = options.headersTimeoutMs ?? 10_000;
  const requestTimeout = Math.max(options.requestTimeoutMs ?? 10_000, headersTimeout);
  const server: Server = createServer(
    {
      headersTimeout,
      requestTimeout,
      connectionsCheckingInterval: Math.max(10, Math.min(1_000, Math.floor(headersTimeout / 4))),
      // A missing Host answers our JSON 400 instead of Node's bare one.
      requireHostHeader: false,
    },
    (request, response) => {
      const requestId = randomUUID();
      response.setHeader('x-request-id', requestId);
      serve(request, response, requestId).catch((error: unknown) => {
        try {
          log(`unexpected error serving request ${requestId}`, error);
          const internal = new ApiError(
            500,
            'INTERNAL',
            `unexpected error; see the server logs under request id ${requestId}`,
            { requestId },
          );
          send(request, response, errorResponse(internal), true);
        } catch {
          // Not even the 500 could be written (or logged): drop this connection, keep the server.
          response.destroy();
        }
      });
    },
  );

  async function serve(
    request: IncomingMessage,
    response: ServerResponse,
    requestId: string,
  ): Promise<void> {
    const refused = hostRefusal(request.headers.host, host);
    if (refused) return send(request, response, errorResponse(refused), true);
    const read = await readLimitedBody(request, options.maxBodyBytes);
    if (read.kind === 'aborted') return;
    if (read.kind === 'too-large') {
      const tooLarge = new ApiError(
        413,
        'BODY_TOO_LARGE',
        `request body is over the limit of ${options.maxBodyBytes} bytes`,
        { path: '$', limit: options.maxBodyBytes },
      );
      return send(request, response, errorResponse(tooLarge), true);
    }
    const target = requestTarget(request.url);
    if (target instanceof ApiError) return send(request, response, errorResponse(target), true);
    const route = options.push && isPushPath(target.pathname) ? options.push : handle;
    const result = await route({
      version: '2.0',
      rawPath: target.pathname,
      rawQueryString: target.search.replace(/^\?/, ''),
      headers: Object.fromEntries(
        Object.entries(request.headers).map(([k, v]) => [
          k,
          Array.isArray(v) ? v.join(',') : (v ?? ''),
        ]),
      ),
      ...(read.body.length > 0 ? { body: read.body } : {}),
      isBase64Encoded: false,
      requestContext: {
        requestId,
        http: {
          method: request.method ?? 'GET',
          path: target.pathname,
          sourceIp: request.socket?.remoteAddress ?? '',
        },
      },
    });
    send(request, response, result, false);
  }

  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    const answer = clientErrorAnswer(error);
    const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage;
    if (answer && socket.writable && !inFlight?.headersSent) {
      socket.end(rawErrorResponse(answer), () => socket.destroy());
      // A peer that never reads must not keep the socket: give the answer a moment, then drop.
      setTimeout(() => socket.destroy(), 1_000).unref();
    } else {
      socket.destroy();
    }
  });
  // CONNECT and protocol upgrades are not part of the API: answer and close.
  const refuseUpgrade = (_request: IncomingMessage, socket: Duplex) => {
    socket.on('error', () => socket.destroy());
    socket.end(
      rawErrorResponse(
        new ApiError(
          400,
          'UNSUPPORTED_REQUEST',
          'CONNECT and protocol upgrades are not served',
          {},
        ),
      ),
      () => socket.destroy(),
    );
    setTimeout(() => socket.destroy(), 1_000).unref();
  };
  server.on('connect', refuseUpgrade);
  server.on('upgrade', refuseUpgrade);
  server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) => {
    const expectation = String(request.headers.expect ?? '').slice(0, 100);
    send(
      request,
      response,
      errorResponse(
        new ApiError(417, 'EXPECTATION_FAILED', `cannot meet "Expect: ${expectation}"`, {
          expect: expectation,
        }),
      ),
      true,
    );
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new HintedError(
              `port ${options.port} on ${host} is already in use`,
              'stop what listens there, or pass --port <another>',
            )
          : error,
      );
    });
    server.listen(options.port, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // Requests still in flight get a moment to finish, then their connections are dropped.
        setTimeout(() => server.closeAllConnections(), 1_000).unref();
      }),
  };
}

const isPushPath = (path: string) => path === '/v1/push' || path.startsWith('/v1/push/');

/** The path and query of a request target, or a 400 when it cannot be one. */
function requestTarget(raw: string | undefined): URL | ApiError {
  try {
    return new URL(raw ?? '/', 'http://localhost');
  } catch {
    return new ApiError(400, 'MALFORMED_REQUEST', 'the request target is not a valid URL', {});
  }
}

/** Writes a response unless one was already started or the client is gone; `close` ends the connection. */
function send(
  request: IncomingMessage,
  response: ServerResponse,
  result: ApiResponse,
  close: boolean,
): void {
  if (response.headersSent || response.writableEnded || response.destroyed) return;
  // Gone, or already answered by the clientError handler (a timeout or a parse error).
  if (!request.socket || request.socket.destroyed || !request.socket.writable) return;
  response.on('error', () => response.destroy());
  response.writeHead(result.statusCode, {
    ...result.headers,
    'content-length': String(Buffer.byteLength(result.body)),
    ...(close ? { connection: 'close' } : {}),
  });
  response.end(result.body);
}
