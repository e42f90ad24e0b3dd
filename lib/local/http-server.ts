import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ApiDependencies, handleRequest } from '../api/handle-request.ts';
import { HintedError } from '../hinted-error.ts';

export interface LocalHttpServer {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * The lookup API on a local port, answered by the same handleRequest as the Lambda. Bodies
 * larger than the API's limit are cut off at limit+1 bytes, so the handler answers 413.
 */
export async function startHttpServer(
  deps: ApiDependencies,
  options: { port: number; host?: string },
): Promise<LocalHttpServer> {
  const server: Server = createServer(async (request, response) => {
    const body = await readBody(request, deps.limits.maxBodyBytes + 1);
    const result = await handleRequest(
      {
        method: request.method ?? 'GET',
        path: new URL(request.url ?? '/', 'http://localhost').pathname,
        body,
      },
      deps,
    );
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
