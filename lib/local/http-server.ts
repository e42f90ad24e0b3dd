import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ApiResponse } from '../api/api-error.ts';
import { HintedError } from '../hinted-error.ts';

/** What API Gateway (HTTP API, payload 2.0) hands the lookup Lambda; the local server builds the same. */
export interface HttpApiEvent {
  readonly version: '2.0';
  readonly rawPath: string;
  readonly rawQueryString: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
  readonly isBase64Encoded: boolean;
  readonly requestContext: {
    readonly http: { readonly method: string; readonly path: string; readonly sourceIp: string };
  };
}

export interface LocalHttpServer {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves a Lambda-style handler on a local port: each HTTP request becomes an API Gateway v2
 * event, the handler's response becomes the HTTP response. Bodies larger than `maxBodyBytes`
 * are cut off one byte over the limit, so the handler answers 413.
 */
export async function startHttpServer(
  handle: (event: HttpApiEvent) => Promise<ApiResponse>,
  options: { port: number; host?: string; maxBodyBytes: number },
): Promise<LocalHttpServer> {
  const server: Server = createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const body = await readBody(request, options.maxBodyBytes + 1);
    const result = await handle({
      version: '2.0',
      rawPath: url.pathname,
      rawQueryString: url.search.replace(/^\?/, ''),
      headers: Object.fromEntries(
        Object.entries(request.headers).map(([k, v]) => [
          k,
          Array.isArray(v) ? v.join(',') : (v ?? ''),
        ]),
      ),
      ...(body.length > 0 ? { body } : {}),
      isBase64Encoded: false,
      requestContext: {
        http: {
          method: request.method ?? 'GET',
          path: url.pathname,
          sourceIp: request.socket.remoteAddress ?? '',
        },
      },
    });
    response.writeHead(result.statusCode, result.headers);
    response.end(result.body);
  });
  const host = options.host ?? '127.0.0.1';
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
    url: `http://${host}:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function readBody(request: IncomingMessage, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    if (size + buffer.length > maxBytes) {
      chunks.push(buffer.subarray(0, maxBytes - size));
      size = maxBytes;
      break;
    }
    chunks.push(buffer);
    size += buffer.length;
  }
  return Buffer.concat(chunks).toString('utf8');
}
