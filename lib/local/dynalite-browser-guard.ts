import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { hostName, isLoopbackName } from './http-guards.ts';

type RequestListener = (request: IncomingMessage, response: ServerResponse) => void;

/**
 * Keeps browser pages away from the local DynamoDB endpoint. dynalite answers any request with
 * an `Origin` header with `Access-Control-Allow-Origin: *` and grants every preflight, so any web
 * page could read and write the local online store. In front of dynalite's own handler, this
 * refuses with 403 (a DynamoDB-style JSON error, no CORS headers): any request carrying `Origin`
 * (browsers send it on cross-origin requests; the AWS SDK never does), every OPTIONS preflight,
 * and any `Host` that is not a loopback name (DNS rebinding). It also stops a client that leaves
 * mid-request from reaching dynalite's request `error` listener, which rethrows.
 */
export function refuseBrowserRequests(server: Server): void {
  const handlers = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const refusal = browserRefusal(request);
    if (refusal) {
      const body = JSON.stringify({
        __type: 'com.amazonaws.dynamodb.v20120810#AccessDeniedException',
        message: refusal,
      });
      request.resume();
      response.writeHead(403, {
        'content-type': 'application/x-amz-json-1.0',
        'content-length': String(Buffer.byteLength(body)),
        connection: 'close',
      });
      response.end(body);
      return;
    }
    // Whatever dynalite sets, no CORS header leaves this server.
    const setHeader = response.setHeader.bind(response);
    response.setHeader = (name, value) =>
      name.toLowerCase().startsWith('access-control-') ? response : setHeader(name, value);
    for (const handler of handlers) handler(request, response);
    request.removeAllListeners('error');
    request.on('error', () => request.destroy());
  });
}

function browserRefusal(request: IncomingMessage): string | undefined {
  if (request.headers.origin !== undefined)
    return 'the local DynamoDB endpoint does not answer browser (cross-origin) requests';
  if (request.method === 'OPTIONS')
    return 'the local DynamoDB endpoint does not answer CORS preflights';
  const name = hostName(request.headers.host ?? '');
  if (name === undefined || !isLoopbackName(name))
    return 'the local DynamoDB endpoint answers loopback Host names only';
  return undefined;
}
