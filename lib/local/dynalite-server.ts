import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';
import { refuseBrowserRequests } from './dynalite-browser-guard.ts';

export interface LocalDynamo {
  readonly endpoint: string;
  /** The first storage (LevelDB) error this server met, if any: the store is damaged. */
  storageError(): Error | undefined;
  close(): Promise<void>;
}

/**
 * Starts every message dynalite answers for a LevelDB read or write error (a 500
 * InternalServerError), so clients can tell a damaged store from any other server error.
 */
export const storageErrorMarker = 'fstore: LevelDB storage error:';

/**
 * An in-process DynamoDB-API server (dynalite) on 127.0.0.1. With `path`, data lives in LevelDB
 * files there and survives restarts; without it, in memory. Port 0 picks a free port.
 *
 * dynalite throws LevelDB errors (a corrupted block, a closed database) from inside callbacks,
 * which would kill the process. Here they answer that one request with a 500 instead: storage
 * calls report their errors as InternalServerError, and an error thrown anyway while dynalite
 * handles a request is caught for that request (see `failRequest`).
 */
export async function startDynalite(
  options: { path?: string; port?: number } = {},
): Promise<LocalDynamo> {
  guardDynaliteStorage();
  let firstError: Error | undefined;
  const onStorageError = (error: Error) => {
    firstError ??= error;
  };
  const server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(options.path ? { path: options.path } : {}),
    onStorageError,
  } as Parameters<typeof dynalite>[0]);
  const [handler] = server.listeners('request') as ((
    request: IncomingMessage,
    response: ServerResponse,
  ) => void)[];
  if (handler) {
    server.removeAllListeners('request');
    server.on('request', (request: IncomingMessage, response: ServerResponse) =>
      requestScope.run({ response, onStorageError }, () => {
        // dynalite does its work in the request's 'data'/'end' listeners, which would run in
        // the socket's context: run them in this request's. One resource per request, not
        // AsyncResource.bind per listener: each bind built two deprecation wrappers (~13 µs).
        const scope = new AsyncResource('fstore.dynalite.request');
        const on = request.on.bind(request);
        request.on = ((event: string, listener: (...args: unknown[]) => void) =>
          on(event, function (this: unknown, ...args: unknown[]) {
            return scope.runInAsyncScope(listener, this, ...args);
          })) as typeof request.on;
        handler(request, response);
      }),
    );
  }
  refuseBrowserRequests(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  addUncaughtGuard();
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    storageError: () => firstError,
    close: () =>
      new Promise<void>((resolve) =>
        server.close(() => {
          removeUncaughtGuard();
          resolve();
        }),
      ),
  };
}

interface RequestScope {
  readonly response: ServerResponse;
  readonly onStorageError: (error: Error) => void;
}

const requestScope = new AsyncLocalStorage<RequestScope>();

/** Answers a dynalite request whose handling threw with a 500, as DynamoDB would. */
function failRequest(scope: RequestScope, error: Error): void {
  scope.onStorageError(error);
  const { response } = scope;
  if (response.headersSent || response.writableEnded) {
    response.destroy();
    return;
  }
  const body = JSON.stringify({
    __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
    message: `${storageErrorMarker} ${firstLineOf(error)}`,
  });
  response.writeHead(500, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': Buffer.byteLength(body),
  });
  response.end(body);
}

let guardedServers = 0;

/**
 * The safety net: an exception thrown while dynalite handles a request (in its async context)
 * fails that request, not the process. Any other uncaught exception is left to the other
 * listeners, or, when there are none, rethrown so Node crashes as it would without this one.
 */
function onUncaught(error: Error): void {
  const scope = requestScope.getStore();
  if (scope) {
    failRequest(scope, error instanceof Error ? error : new Error(String(error)));
    return;
  }
  if (process.listenerCount('uncaughtException') > 1) return;
  process.removeListener('uncaughtException', onUncaught);
  guardedServers = 0;
  process.nextTick(() => {
    throw error;
  });
}

function addUncaughtGuard(): void {
  if (guardedServers++ === 0) process.on('uncaughtException', onUncaught);
}

function removeUncaughtGuard(): void {
  if (guardedServers > 0 && --guardedServers === 0)
    process.removeListener('uncaughtException', onUncaught);
}

function firstLineOf(error: Error): string {
  return (error.message || String(error)).split('\n')[0] ?? '';
}

type Callback = (error: unknown, ...results: unknown[]) => void;

interface DynaliteLevel {
  [method: string]: unknown;
}

let guarded = false;

/**
 * Makes dynalite's LevelDB calls report storage errors the way its actions report API errors
 * (an error with `statusCode` and `body`), so dynalite answers 500 instead of throwing.
 * Patched once on dynalite's `db` module, whose `create` its server calls with our options.
 */
function guardDynaliteStorage(): void {
  if (guarded) return;
  guarded = true;
  const fromDynalite = createRequire(createRequire(import.meta.url).resolve('dynalite'));
  const dbModule = fromDynalite('./db') as {
    create(options: Record<string, unknown>): { db: DynaliteLevel };
  };
  const create = dbModule.create;
  dbModule.create = (options) => {
    const store = create(options);
    const report = options.onStorageError as ((error: Error) => void) | undefined;
    guardLevel(store.db, (error) => {
      if (tagStorageError(error)) report?.(error as Error);
      return error;
    });
    return store;
  };
}

/**
 * Tags a LevelDB error as a DynamoDB InternalServerError (true); dynalite's own API errors and
 * "not found" pass unchanged (false).
 */
function tagStorageError(error: unknown): boolean {
  if (!(error instanceof Error) || error.name === 'NotFoundError') return false;
  const tagged = error as Error & { statusCode?: number; body?: { message?: string } };
  if (tagged.statusCode !== undefined)
    return tagged.body?.message?.startsWith(storageErrorMarker) === true;
  tagged.statusCode = 500;
  tagged.body = {
    __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
    message: `${storageErrorMarker} ${firstLineOf(error)}`,
  } as { message: string };
  return true;
}

function guardLevel(db: DynaliteLevel, convert: (error: unknown) => unknown): void {
  for (const method of ['get', 'put', 'del', 'batch']) {
    const original = db[method] as ((...args: unknown[]) => unknown) | undefined;
    if (typeof original !== 'function') continue;
    db[method] = function (this: unknown, ...args: unknown[]) {
      const callback = args.at(-1);
      if (typeof callback === 'function') {
        args[args.length - 1] = ((error: unknown, ...results: unknown[]) =>
          (callback as Callback)(error ? convert(error) : error, ...results)) as Callback;
        return original.apply(this, args);
      }
      const result = original.apply(this, args);
      return result instanceof Promise
        ? result.catch((error: unknown) => {
            throw convert(error);
          })
        : result;
    };
  }
  for (const method of ['createKeyStream', 'createValueStream']) {
    const original = db[method] as
      | ((...args: unknown[]) => NodeJS.EventEmitter & { prependListener: unknown })
      | undefined;
    if (typeof original !== 'function') continue;
    db[method] = function (this: unknown, ...args: unknown[]) {
      const stream = original.apply(this, args);
      // First in line, so every later 'error' listener (dynalite's callback) sees a 500.
      stream.prependListener('error', (error: unknown) => {
        convert(error);
      });
      return stream;
    };
  }
}
