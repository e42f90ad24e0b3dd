import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterEach, describe, expect, it } from 'vitest';
import { amzDate, PushError, push } from '../../../lib/client/push-client.ts';

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

/** A server answering each request with the next of `answers` (the last one repeats). */
async function stub(
  answers: readonly { status: number; body: unknown; headers?: Record<string, string> }[],
): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on('end', () => {
      seen.push({
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body,
      });
      const answer = answers[Math.min(seen.length, answers.length) - 1] ?? {
        status: 500,
        body: {},
      };
      response.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      response.end(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const ok = (rows: number) => ({
  status: 200,
  body: {
    source: 'payments',
    rows,
    to: 'online',
    online: {
      written: rows,
      skippedAsOlder: 0,
      views: [{ view: 'last_payment', written: rows, skippedAsOlder: 0 }],
      notUpdated: [],
    },
  },
});
const row = (id: string) => ({ customer_id: id, amount: 1, event_ts: '2026-11-30T12:00:00Z' });
const delays: number[] = [];
const sleep = async (ms: number) => {
  delays.push(ms);
};

describe('push() client', () => {
  it('posts the rows as JSON to /v1/push/{source} under the endpoint path and returns the answer', async () => {
    const api = await stub([ok(1)]);
    const answer = await push({
      endpoint: `${api.url}/prod/`,
      source: 'payments',
      rows: [row('C1')],
      to: 'online',
      idempotencyKey: 'k-1',
    });
    expect(answer.online?.written).toBe(1);
    expect(api.seen).toHaveLength(1);
    expect(api.seen[0]).toMatchObject({
      method: 'POST',
      url: '/prod/v1/push/payments',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'k-1' },
    });
    expect(JSON.parse(api.seen[0]?.body ?? '')).toEqual({ rows: [row('C1')], to: 'online' });
  });

  it('throws a PushError with status, code and the row and field for a 400, without retrying', async () => {
    const api = await stub([
      {
        status: 400,
        body: {
          error: {
            code: 'INVALID_ROW',
            message: '$.rows[0].amount: must be a number',
            details: {
              path: '$.rows[0].amount',
              row: 0,
              field: 'amount',
              reason: 'must be a number',
            },
          },
        },
      },
    ]);
    const error = await push({
      endpoint: api.url,
      source: 'payments',
      rows: [row('C1')],
      sleep,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PushError);
    expect(error).toMatchObject({
      status: 400,
      code: 'INVALID_ROW',
      details: { row: 0, field: 'amount' },
      attempts: 1,
      retryable: false,
    });
    expect(api.seen).toHaveLength(1);
  });

  it('retries 503 and 429 with backoff, honouring Retry-After, then returns the success', async () => {
    delays.length = 0;
    const api = await stub([
      {
        status: 503,
        body: { error: { code: 'STORE_UNAVAILABLE', message: 'x', details: {} } },
        headers: { 'retry-after': '1' },
      },
      { status: 429, body: { message: 'Too Many Requests' } },
      ok(1),
    ]);
    const answer = await push({
      endpoint: api.url,
      source: 'payments',
      rows: [row('C1')],
      sleep,
      random: () => 0.5,
    });
    expect(answer.rows).toBe(1);
    expect(api.seen).toHaveLength(3);
    expect(delays).toEqual([1_000, 100]); // Retry-After 1 s, then 0.5 × 200 ms
  });

  it('gives up after maxAttempts with the last answer as a PushError (API Gateway code-less bodies become HTTP_<status>)', async () => {
    const api = await stub([{ status: 503, body: { message: 'Service Unavailable' } }]);
    const error = await push({
      endpoint: api.url,
      source: 'payments',
      rows: [row('C1')],
      maxAttempts: 3,
      sleep,
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 503, code: 'HTTP_503', attempts: 3, retryable: true });
    expect((error as Error).message).toContain('Service Unavailable');
    expect(api.seen).toHaveLength(3);
  });

  it('splits rows into requests of maxRowsPerRequest only when asked, with a key per request, and sums the answers', async () => {
    const api = await stub([ok(2), ok(2), ok(1)]);
    const answer = await push({
      endpoint: api.url,
      source: 'payments',
      rows: ['A', 'B', 'C', 'D', 'E'].map(row),
      idempotencyKey: 'batch-7',
      maxRowsPerRequest: 2,
    });
    expect(api.seen.map((s) => JSON.parse(s.body).rows.length)).toEqual([2, 2, 1]);
    expect(api.seen.map((s) => s.headers['idempotency-key'])).toEqual([
      'batch-7:0',
      'batch-7:1',
      'batch-7:2',
    ]);
    expect(answer).toMatchObject({
      rows: 5,
      online: { written: 5, views: [{ view: 'last_payment', written: 5, skippedAsOlder: 0 }] },
    });
    expect(answer.requests).toHaveLength(3);
    const unsplit = await stub([ok(5)]);
    await push({
      endpoint: unsplit.url,
      source: 'payments',
      rows: ['A', 'B', 'C', 'D', 'E'].map(row),
    });
    expect(unsplit.seen).toHaveLength(1);
  });

  it('signs with SigV4 for execute-api: the signature an independent signer (@smithy/signature-v4) computes for the same request and clock', async () => {
    const api = await stub([ok(1)]);
    const at = new Date('2026-12-01T06:30:00.000Z');
    const credentials = {
      accessKeyId: 'AKIDEXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
      sessionToken: 'session-token',
    };
    await push({
      endpoint: api.url,
      source: 'payments',
      rows: [row('C1')],
      idempotencyKey: 'k-9',
      signing: { region: 'eu-west-1', credentials: async () => credentials },
      now: () => at,
    });
    const seen = api.seen[0] as Seen;
    expect(seen.headers['x-amz-date']).toBe(amzDate(at));
    expect(seen.headers['x-amz-date']).toBe('20261201T063000Z');
    expect(seen.headers['x-amz-security-token']).toBe('session-token');
    const host = new URL(api.url).host;
    const reference = await new SignatureV4({
      service: 'execute-api',
      region: 'eu-west-1',
      credentials,
      sha256: NodeSha256,
      applyChecksum: false,
    }).sign(
      {
        method: 'POST',
        protocol: 'http:',
        hostname: '127.0.0.1',
        path: '/v1/push/payments',
        headers: {
          host,
          'content-length': String(Buffer.byteLength(seen.body)),
          'content-type': 'application/json',
          'idempotency-key': 'k-9',
        },
        body: seen.body,
      },
      { signingDate: at },
    );
    expect(seen.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20261201\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=content-length;content-type;host;idempotency-key;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/,
    );
    expect(seen.headers.authorization).toBe(reference.headers.authorization);
  });
});

/** The hash constructor @smithy/signature-v4 takes, on node:crypto. */
class NodeSha256 {
  private readonly hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

function bytes(data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof data === 'string') return data;
  return ArrayBuffer.isView(data)
    ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    : new Uint8Array(data);
}
