import type { IncomingMessage } from 'node:http';

export type BodyRead =
  | { readonly kind: 'complete'; readonly body: string }
  /** Over the limit (declared or sent); reading stopped there, the rest was never buffered. */
  | { readonly kind: 'too-large' }
  /** The client went away (or the request was destroyed) before the body ended. */
  | { readonly kind: 'aborted' };

/**
 * Reads a request body as UTF-8 up to `maxBytes`. A declared `content-length` over the limit
 * answers at once without reading; a body that grows past it stops being read at that chunk.
 * Never rejects: a client that disconnects or errors mid-body yields `aborted`.
 */
export function readLimitedBody(request: IncomingMessage, maxBytes: number): Promise<BodyRead> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes)
    return Promise.resolve({ kind: 'too-large' });
  if (request.readableEnded) return Promise.resolve({ kind: 'complete', body: '' });
  return new Promise<BodyRead>((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (result: BodyRead) => {
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('error', onAbort);
      request.off('close', onAbort);
      if (result.kind === 'too-large') request.pause();
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) settle({ kind: 'too-large' });
      else chunks.push(chunk);
    };
    const onEnd = () => settle({ kind: 'complete', body: Buffer.concat(chunks).toString('utf8') });
    const onAbort = () => settle({ kind: 'aborted' });
    request.on('data', onData);
    request.on('end', onEnd);
    request.on('error', onAbort);
    request.on('close', onAbort);
  });
}
