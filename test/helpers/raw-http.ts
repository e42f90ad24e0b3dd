import { connect } from 'node:net';

export interface RawResponse {
  readonly status: number;
  /** Header names lowercased; repeated headers joined with ", ". */
  readonly headers: Record<string, string>;
  readonly body: string;
}

export interface RawExchange {
  /** The first complete response on the connection, if one arrived. */
  readonly response?: RawResponse;
  /** Everything the server sent. */
  readonly raw: string;
  /** How the exchange ended: the server closed, the socket errored, or our timeout hit. */
  readonly ended: 'closed' | 'error' | 'timeout';
  /** Milliseconds from connecting to the end. */
  readonly elapsedMs: number;
}

export interface RawRequestOptions {
  /** Pieces written in order, `pauseMs` apart. */
  readonly pieces: readonly (string | Buffer)[];
  readonly pauseMs?: number;
  /** After writing: 'end' half-closes, 'destroy' drops the connection, 'wait' keeps it open. */
  readonly after?: 'end' | 'destroy' | 'wait';
  /** Give up (and destroy the socket) after this long. */
  readonly timeoutMs?: number;
  /** Resolve as soon as one complete response arrived instead of waiting for the close. */
  readonly untilResponse?: boolean;
  /** The request is a HEAD: the response has no body whatever its content-length says. */
  readonly head?: boolean;
}

/** Parses the first HTTP/1.x response in `raw`, or undefined while it is incomplete. */
export function parseRawResponse(raw: Buffer, head = false): RawResponse | undefined {
  const headEnd = raw.indexOf('\r\n\r\n');
  if (headEnd < 0) return undefined;
  const [statusLine, ...lines] = raw.subarray(0, headEnd).toString('latin1').split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '');
  if (!status) return undefined;
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  const rest = raw.subarray(headEnd + 4);
  let body: Buffer;
  if (head) {
    body = Buffer.alloc(0);
  } else if (headers['content-length'] !== undefined) {
    const length = Number(headers['content-length']);
    if (rest.length < length) return undefined;
    body = rest.subarray(0, length);
  } else if (headers['transfer-encoding']?.includes('chunked')) {
    const parts: Buffer[] = [];
    let at = 0;
    for (;;) {
      const lineEnd = rest.indexOf('\r\n', at);
      if (lineEnd < 0) return undefined;
      const size = Number.parseInt(rest.subarray(at, lineEnd).toString('latin1'), 16);
      if (size === 0) break;
      if (rest.length < lineEnd + 2 + size) return undefined;
      parts.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
    body = Buffer.concat(parts);
  } else {
    return undefined;
  }
  return { status: Number(status[1]), headers, body: body.toString('utf8') };
}

/** Writes raw bytes to a loopback port and collects what comes back; never rejects. */
export function rawRequest(port: number, options: RawRequestOptions): Promise<RawExchange> {
  const started = performance.now();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let done = false;
    const socket = connect(port, '127.0.0.1');
    const finish = (ended: RawExchange['ended']) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const raw = Buffer.concat(chunks);
      const response = parseRawResponse(raw, options.head);
      resolve({
        ...(response ? { response } : {}),
        raw: raw.toString('latin1'),
        ended,
        elapsedMs: performance.now() - started,
      });
    };
    const timer = setTimeout(() => finish('timeout'), options.timeoutMs ?? 5_000);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (options.untilResponse && parseRawResponse(Buffer.concat(chunks), options.head))
        finish('closed');
    });
    socket.on('error', () => finish('error'));
    socket.on('close', () => finish('closed'));
    socket.on('connect', async () => {
      for (const [index, piece] of options.pieces.entries()) {
        if (done) return;
        if (index > 0 && options.pauseMs) await new Promise((r) => setTimeout(r, options.pauseMs));
        if (!socket.writable) return;
        socket.write(piece);
      }
      if (options.after === 'end') socket.end();
      else if (options.after === 'destroy') finish('closed');
    });
  });
}

/** A request head with CRLFs; `Host` defaults to the loopback address of `port`. */
export function requestHead(
  method: string,
  path: string,
  port: number,
  headers: Record<string, string | number> = {},
): string {
  const all: Record<string, string | number> = { host: `127.0.0.1:${port}`, ...headers };
  return `${method} ${path} HTTP/1.1\r\n${Object.entries(all)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('')}\r\n`;
}
