import { maxHeaderSize } from 'node:http';
import { isIP } from 'node:net';
import { ApiError, errorResponse } from '../api/api-error.ts';

/**
 * The guards of the local HTTP server that the Lambda behind API Gateway does not need: which
 * `Host` names it answers, and what it says to requests Node refuses before any handler runs.
 */

const wildcardAddresses = new Set(['0.0.0.0', '::', '[::]', '']);

/** `host[:port]` or `[v6][:port]` → the lowercased host without brackets, or undefined if malformed. */
export function hostName(header: string): string | undefined {
  const match = /^(?:\[([0-9a-f:.]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/i.exec(header.trim());
  if (!match) return undefined;
  return (match[1] ?? match[2] ?? '').toLowerCase().replace(/\.$/, '');
}

/** localhost, 127.0.0.0/8 or ::1 — names a browser page cannot rebind to another machine. */
export function isLoopbackName(name: string): boolean {
  if (name === 'localhost') return true;
  if (isIP(name) === 4) return name.startsWith('127.');
  if (isIP(name) === 6) return name === '::1' || name === '0:0:0:0:0:0:0:1';
  return false;
}

/**
 * Refuses a request whose `Host` is not a loopback name (a DNS-rebinding guard: a page on
 * attacker.example whose name resolves to 127.0.0.1 still sends `Host: attacker.example`).
 * Bound to a specific non-loopback address, that address is accepted too; bound to all
 * addresses, any IP literal is (an IP cannot be rebound). Names other than localhost never are.
 */
export function hostRefusal(header: string | undefined, bindHost: string): ApiError | undefined {
  if (header === undefined || header.trim() === '')
    return new ApiError(400, 'HOST_REQUIRED', 'the request has no Host header', {});
  const name = hostName(header);
  if (name !== undefined) {
    if (isLoopbackName(name)) return undefined;
    const bind = bindHost.toLowerCase().replace(/^\[|\]$/g, '');
    if (wildcardAddresses.has(bind) ? isIP(name) !== 0 : name === bind) return undefined;
  }
  return new ApiError(
    421,
    'HOST_NOT_ALLOWED',
    `this local server answers loopback names only (localhost, 127.0.0.1, [::1]), not "${header.slice(0, 100)}"`,
    { host: header.slice(0, 100) },
  );
}

/**
 * The error to send when Node's HTTP parser or its timeouts reject a request before a handler
 * ran (Node's own answer would be a bare status line), or undefined when the peer is gone.
 */
export function clientErrorAnswer(error: NodeJS.ErrnoException): ApiError | undefined {
  switch (error.code) {
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ECONNABORTED':
      return undefined;
    case 'HPE_HEADER_OVERFLOW':
      return new ApiError(
        431,
        'HEADERS_TOO_LARGE',
        `the request line and headers are over the limit of ${maxHeaderSize} bytes`,
        { limit: maxHeaderSize },
      );
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return new ApiError(413, 'BODY_TOO_LARGE', 'chunk extensions are over the size limit', {});
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new ApiError(
        408,
        'REQUEST_TIMEOUT',
        'the request did not arrive in time; the connection is closed',
        {},
      );
    case 'HPE_INVALID_METHOD':
      return new ApiError(400, 'MALFORMED_REQUEST', 'not an HTTP method this server knows', {
        reason: error.code,
      });
    default:
      return new ApiError(400, 'MALFORMED_REQUEST', 'the request is not valid HTTP/1.1', {
        ...(typeof error.code === 'string' ? { reason: error.code } : {}),
      });
  }
}

const reasons: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  413: 'Payload Too Large',
  421: 'Misdirected Request',
  431: 'Request Header Fields Too Large',
};

/** A complete HTTP/1.1 error response, for writing straight to a socket, that closes the connection. */
export function rawErrorResponse(error: ApiError): string {
  const { statusCode, headers, body } = errorResponse(error);
  const head = Object.entries({
    ...headers,
    'content-length': String(Buffer.byteLength(body)),
    connection: 'close',
  })
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  return `HTTP/1.1 ${statusCode} ${reasons[statusCode] ?? 'Error'}\r\n${head}\r\n${body}`;
}
