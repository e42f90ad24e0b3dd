import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLookupHandler,
  localLambdaContext,
  readLookupConfig,
} from '../../lambdas/online-lookup/handler.ts';
import type { ApiResponse } from '../../lib/api/api-error.ts';
import { type LocalDynamo, startDynalite } from '../../lib/local/dynalite-server.ts';
import { type LocalHttpServer, startHttpServer } from '../../lib/local/http-server.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { onlineRegistry } from '../helpers/online-registry.ts';
import { type RawExchange, rawRequest, requestHead } from '../helpers/raw-http.ts';

process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';

const { registry } = onlineRegistry();
const limit = 262_144;
const timeouts = { headersTimeoutMs: 400, requestTimeoutMs: 800 };
let dynamo: LocalDynamo;
let server: LocalHttpServer;
let port: number;
let handler: ReturnType<typeof createLookupHandler>;
const logged: unknown[] = [];

const portOf = (url: string) => Number(new URL(url).port);
const lookupBody = JSON.stringify({ entities: [{ customer_id: 'C1' }] });
const post = (path: string, body: string | Buffer, headers: Record<string, string | number> = {}) =>
  requestHead('POST', path, port, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    connection: 'close',
    ...headers,
  }) + body.toString();

async function expectHealthy(target = port): Promise<void> {
  const exchange = await rawRequest(target, {
    pieces: [requestHead('GET', '/v1/health', target, { connection: 'close' })],
    timeoutMs: 3_000,
  });
  expect(exchange.response?.status, exchange.raw).toBe(200);
  expect(JSON.parse(exchange.response?.body ?? '{}')).toMatchObject({ status: 'ok' });
}

function expectJsonError(exchange: RawExchange, status: number, code?: string) {
  expect(exchange.response?.status, exchange.raw).toBe(status);
  expect(exchange.response?.headers['content-type']).toContain('application/json');
  const body = JSON.parse(exchange.response?.body ?? '{}');
  expect(body.error).toEqual({
    code: code ?? expect.any(String),
    message: expect.any(String),
    details: expect.any(Object),
  });
  return body.error as { code: string; message: string; details: Record<string, unknown> };
}

beforeAll(async () => {
  dynamo = await startDynalite();
  const client = localDynamoClient(dynamo.endpoint);
  await ensureLocalTable(client, 'fstore-hostile-online');
  handler = createLookupHandler({
    registry,
    client,
    config: readLookupConfig({ TABLE_NAME: 'fstore-hostile-online' }),
  });
  server = await startHttpServer((event) => handler(event, localLambdaContext), {
    port: 0,
    maxBodyBytes: limit,
    ...timeouts,
    log: (_message, error) => logged.push(error),
  });
  port = portOf(server.url);
});
afterAll(async () => {
  await server?.close();
  await dynamo?.close();
});

describe('the local HTTP server with hostile clients', () => {
  it('answers 413 with the limit for a 262,146-byte body and keeps serving', async () => {
    const body = Buffer.alloc(limit + 2, 'a');
    const exchange = await rawRequest(port, {
      pieces: [post('/v1/feature-views/profile', body)],
      timeoutMs: 5_000,
    });
    const error = expectJsonError(exchange, 413, 'BODY_TOO_LARGE');
    expect(error.details.limit).toBe(limit);
    expect(error.message).toContain(String(limit));
    expect(exchange.ended).toBe('closed');
    await expectHealthy();
  });

  it('answers 413 as soon as the declared length is over the limit, without waiting for the body', async () => {
    const exchange = await rawRequest(port, {
      pieces: [
        requestHead('POST', '/v1/feature-views/profile', port, {
          'content-type': 'application/json',
          'content-length': 50_000_000,
        }),
        'x'.repeat(1000),
      ],
      after: 'wait',
      timeoutMs: 3_000,
    });
    expectJsonError(exchange, 413, 'BODY_TOO_LARGE');
    expect(exchange.ended).toBe('closed');
    await expectHealthy();
  });

  it('stops reading a chunked body once it passes the limit and answers 413', async () => {
    const chunk = 'y'.repeat(64 * 1024);
    const chunked = `${chunk.length.toString(16)}\r\n${chunk}\r\n`;
    const exchange = await rawRequest(port, {
      pieces: [
        requestHead('POST', '/v1/feature-views/profile', port, {
          'content-type': 'application/json',
          'transfer-encoding': 'chunked',
        }),
        ...Array.from({ length: 6 }, () => chunked),
      ],
      pauseMs: 10,
      after: 'wait',
      timeoutMs: 3_000,
    });
    expectJsonError(exchange, 413, 'BODY_TOO_LARGE');
    expect(exchange.ended).toBe('closed');
    await expectHealthy();
  });

  it('drops a client that promises 100 bytes, sends one and disconnects, and keeps serving', async () => {
    for (let i = 0; i < 5; i++) {
      await rawRequest(port, {
        pieces: [
          requestHead('POST', '/v1/feature-views/profile', port, {
            'content-type': 'application/json',
            'content-length': 100,
          }),
          '{',
        ],
        pauseMs: 5,
        after: 'destroy',
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    await expectHealthy();
    expect(logged).toEqual([]);
  });

  it('answers 408 to a stalled body after the request timeout and closes the connection', async () => {
    const exchange = await rawRequest(port, {
      pieces: [
        requestHead('POST', '/v1/feature-views/profile', port, {
          'content-type': 'application/json',
          'content-length': 100,
        }),
        '{"entities"',
      ],
      after: 'wait',
      timeoutMs: 5_000,
    });
    expectJsonError(exchange, 408);
    expect(exchange.ended).toBe('closed');
    expect(exchange.elapsedMs).toBeGreaterThanOrEqual(timeouts.requestTimeoutMs - 50);
    expect(exchange.elapsedMs).toBeLessThan(4_000);
    await expectHealthy();
  });

  it('answers 408 to headers that never finish and closes the connection', async () => {
    const exchange = await rawRequest(port, {
      pieces: ['GET /v1/health HTTP/1.1\r\nhost: 127.0.0.1\r\nx-slow: '],
      after: 'wait',
      timeoutMs: 5_000,
    });
    expectJsonError(exchange, 408);
    expect(exchange.ended).toBe('closed');
    expect(exchange.elapsedMs).toBeLessThan(4_000);
    await expectHealthy();
  });

  it('answers 431 with the error shape to a 70,000-character URL and keeps serving', async () => {
    const exchange = await rawRequest(port, {
      pieces: [requestHead('GET', `/v1/health?${'q'.repeat(70_000)}`, port)],
      after: 'wait',
    });
    expectJsonError(exchange, 431);
    await expectHealthy();
  });

  it('answers 431 with the error shape to a 20 KB header and keeps serving', async () => {
    const exchange = await rawRequest(port, {
      pieces: [requestHead('GET', '/v1/health', port, { 'x-big': 'h'.repeat(20_000) })],
      after: 'wait',
    });
    expectJsonError(exchange, 431);
    await expectHealthy();
  });

  it('answers 400 with the error shape to a method HTTP does not know and keeps serving', async () => {
    const exchange = await rawRequest(port, {
      pieces: [requestHead('FROBNICATE', '/v1/health', port)],
      after: 'wait',
    });
    expectJsonError(exchange, 400);
    await expectHealthy();
  });

  it('answers 400 with the error shape to bytes that are not HTTP and keeps serving', async () => {
    const exchange = await rawRequest(port, {
      pieces: ['\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03 not http\r\n\r\n'],
      after: 'wait',
    });
    expectJsonError(exchange, 400);
    await expectHealthy();
  });

  it('answers 405 with an Allow header for a known route with the wrong method', async () => {
    const onLookup = await rawRequest(port, {
      pieces: [requestHead('GET', '/v1/feature-views/profile', port, { connection: 'close' })],
    });
    expectJsonError(onLookup, 405, 'METHOD_NOT_ALLOWED');
    expect(onLookup.response?.headers.allow).toBe('POST');
    const onHealth = await rawRequest(port, {
      pieces: [post('/v1/health', lookupBody)],
    });
    expectJsonError(onHealth, 405, 'METHOD_NOT_ALLOWED');
    expect(onHealth.response?.headers.allow).toBe('GET');
    await expectHealthy();
  });

  it('answers 404 with the error shape for an unknown route', async () => {
    const exchange = await rawRequest(port, {
      pieces: [requestHead('DELETE', '/v2/nothing', port, { connection: 'close' })],
    });
    expectJsonError(exchange, 404, 'NOT_FOUND');
  });

  it('answers 415 to a text/plain body and accepts application/json and +json with charset=utf-8', async () => {
    const plain = await rawRequest(port, {
      pieces: [post('/v1/feature-views/profile', lookupBody, { 'content-type': 'text/plain' })],
    });
    const error = expectJsonError(plain, 415, 'UNSUPPORTED_MEDIA_TYPE');
    expect(error.message).toContain('application/json');
    for (const type of [
      'application/json',
      'application/json; charset=utf-8',
      'Application/JSON;charset="UTF-8"',
      'application/vnd.fstore.lookup+json',
    ]) {
      const ok = await rawRequest(port, {
        pieces: [post('/v1/feature-views/profile', lookupBody, { 'content-type': type })],
      });
      expect(ok.response?.status, `${type}: ${ok.raw}`).toBe(200);
    }
    await expectHealthy();
  });

  it('rejects a __proto__ key with 400 naming its JSON path and pollutes nothing', async () => {
    const body = '{"entities":[{"customer_id":"C1","__proto__":{"polluted":"yes"}}]}';
    const exchange = await rawRequest(port, { pieces: [post('/v1/feature-views/profile', body)] });
    const error = expectJsonError(exchange, 400);
    expect(error.details.path).toBe('$.entities[0].__proto__');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    await expectHealthy();
  });

  it('refuses a Host that is not a loopback name with 421, and serves loopback names', async () => {
    const foreign = await rawRequest(port, {
      pieces: [
        requestHead('GET', '/v1/health', port, {
          host: `attacker.example:${port}`,
          connection: 'close',
        }),
      ],
    });
    const error = expectJsonError(foreign, 421, 'HOST_NOT_ALLOWED');
    expect(error.message).toContain('attacker.example');
    const missing = await rawRequest(port, {
      pieces: ['GET /v1/health HTTP/1.0\r\n\r\n'],
    });
    expectJsonError(missing, 400, 'HOST_REQUIRED');
    for (const host of [`localhost:${port}`, `127.0.0.2:${port}`, `[::1]:${port}`, 'localhost']) {
      const exchange = await rawRequest(port, {
        pieces: [requestHead('GET', '/v1/health', port, { host, connection: 'close' })],
      });
      expect(exchange.response?.status, `${host}: ${exchange.raw}`).toBe(200);
    }
  });

  it('answers 417 with the error shape to an expectation it cannot meet', async () => {
    const exchange = await rawRequest(port, {
      pieces: [requestHead('GET', '/v1/health', port, { expect: 'teapot', connection: 'close' })],
    });
    expectJsonError(exchange, 417);
    await expectHealthy();
  });

  it('documents every status it answers in the OpenAPI document, with the error schema', async () => {
    const exchange = await rawRequest(port, {
      pieces: [requestHead('GET', '/v1/openapi.json', port, { connection: 'close' })],
    });
    const documented = documentedStatuses(JSON.parse(exchange.response?.body ?? '{}'));
    for (const status of [
      '200',
      '400',
      '404',
      '405',
      '408',
      '413',
      '415',
      '417',
      '421',
      '431',
      '500',
      '503',
    ])
      expect(documented.has(status), status).toBe(true);
  });

  it('answers 500 with the error shape when the handler throws or returns an unwritable response, logs it, and keeps serving', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const flaky = await startHttpServer(
      async (): Promise<ApiResponse> => {
        calls += 1;
        if (calls === 1) throw new TypeError('handler bug');
        if (calls === 2)
          return { statusCode: 200, headers: { 'x-broken': 'line\nbreak' }, body: '{}' };
        return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{}' };
      },
      { port: 0, maxBodyBytes: limit, log: (_message, error) => errors.push(error) },
    );
    try {
      const target = portOf(flaky.url);
      const exchange = await rawRequest(target, {
        pieces: [requestHead('GET', '/v1/health', target, { connection: 'close' })],
      });
      const error = expectJsonError(exchange, 500, 'INTERNAL');
      expect(error.message).not.toContain('handler bug');
      expect(errors).toHaveLength(1);
      const unwritable = await rawRequest(target, {
        pieces: [requestHead('GET', '/v1/health', target, { connection: 'close' })],
      });
      expectJsonError(unwritable, 500, 'INTERNAL');
      expect(errors).toHaveLength(2);
      const again = await rawRequest(target, {
        pieces: [requestHead('GET', '/v1/health', target, { connection: 'close' })],
      });
      expect(again.response?.status).toBe(200);
    } finally {
      await flaky.close();
    }
  });

  it('survives random raw requests, truncations and disconnects, answering only documented statuses', async () => {
    const openapi = await rawRequest(port, {
      pieces: [requestHead('GET', '/v1/openapi.json', port, { connection: 'close' })],
    });
    const documented = documentedStatuses(JSON.parse(openapi.response?.body ?? '{}'));
    // Mostly well-formed requests (so routes and handlers run), with every part sometimes wild.
    const mostly = <T>(usual: fc.Arbitrary<T>, wild: fc.Arbitrary<T>) =>
      fc.oneof({ arbitrary: usual, weight: 4 }, { arbitrary: wild, weight: 1 });
    const token = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}$/);
    const headerValue = mostly(
      fc.oneof(
        fc.constantFrom('application/json', 'text/plain', '100-continue', 'chunked', 'close', '0'),
        fc.stringMatching(/^[\x20-\x7e]{0,40}$/),
        fc.nat({ max: 400_000 }).map(String),
      ),
      fc.string({ maxLength: 40 }),
    );
    const path = mostly(
      fc.constantFrom(
        '/v1/health',
        '/v1/registry',
        '/v1/openapi.json',
        '/v1/features/x',
        '/v1/feature-views/profile',
        '/v1/feature-views/profile',
        '/v1/feature-views/..%2f',
        '*',
        'http://127.0.0.1/v1/health',
      ),
      fc.oneof(
        fc.webPath(),
        fc.string({ maxLength: 30 }).map((s) => `/${s}`),
      ),
    );
    const request = fc.record({
      method: mostly(fc.constantFrom('GET', 'POST', 'POST', 'HEAD', 'PUT', 'OPTIONS'), token),
      path,
      version: mostly(fc.constant('HTTP/1.1'), fc.constantFrom('HTTP/1.0', 'HTTP/2.0', 'HTTP/1')),
      host: mostly(
        fc.constantFrom('127.0.0.1', 'localhost'),
        fc.constantFrom('evil.example', '', '[::1]', 'localhost:x', '127.0.0.1:99999'),
      ),
      contentType: mostly(
        fc.constant('application/json'),
        fc.option(headerValue, { nil: undefined }),
      ),
      headers: fc.array(
        fc.tuple(
          mostly(
            token,
            fc.constantFrom(
              'content-type',
              'content-length',
              'transfer-encoding',
              'expect',
              'connection',
              'origin',
              'upgrade',
              'host',
            ),
          ),
          headerValue,
        ),
        { maxLength: 5 },
      ),
      body: fc.oneof(
        fc.constant(lookupBody),
        fc.constant('{"entities":[{"customer_id":"C1","__proto__":{"x":1}}]}'),
        fc.string({ maxLength: 200 }),
        fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      ),
      declaredLength: mostly(
        fc.constant<'exact' | 'none' | number>('exact'),
        fc.oneof(fc.constant<'none'>('none'), fc.nat({ max: 1_000 })),
      ),
      cutAt: mostly(fc.constant(undefined), fc.nat({ max: 600 })),
      ending: fc.constantFrom<'end' | 'destroy' | 'wait'>('end', 'destroy', 'wait', 'wait', 'wait'),
      split: fc.nat({ max: 3 }),
    });
    // Its own server with shorter timeouts, so the many stalled requests cost little.
    const fuzzed = await startHttpServer((event) => handler(event, localLambdaContext), {
      port: 0,
      maxBodyBytes: limit,
      headersTimeoutMs: 150,
      requestTimeoutMs: 300,
      log: (_message, error) => logged.push(error),
    });
    const target = portOf(fuzzed.url);
    const seen = new Set<number>();
    try {
      await fc.assert(
        fc.asyncProperty(request, async (r) => {
          const length =
            r.declaredLength === 'exact' ? Buffer.byteLength(r.body) : r.declaredLength;
          const headers = [
            ...(r.host ? [`host: ${r.host}`] : []),
            ...(r.contentType === undefined ? [] : [`content-type: ${r.contentType}`]),
            ...(length === 'none' ? [] : [`content-length: ${length}`]),
            ...r.headers.map(([name, value]) => `${name}: ${value}`),
          ];
          let text = `${r.method} ${r.path} ${r.version}\r\n${headers.join('\r\n')}\r\n\r\n${r.body}`;
          if (r.cutAt !== undefined) text = text.slice(0, r.cutAt);
          const step = Math.max(1, Math.ceil(text.length / (r.split + 1)));
          const pieces = Array.from({ length: r.split + 1 }, (_, i) =>
            text.slice(i * step, (i + 1) * step),
          ).filter((piece) => piece.length > 0);
          const exchange = await rawRequest(target, {
            pieces,
            pauseMs: 2,
            after: r.ending,
            timeoutMs: 2_500,
            untilResponse: true,
            head: r.method === 'HEAD',
          });
          seen.add(exchange.response?.status ?? 0);
          if (exchange.response) {
            const { status, body } = exchange.response;
            expect(documented.has(String(status)), `${status} for ${JSON.stringify(text)}`).toBe(
              true,
            );
            if (status !== 200 && r.method !== 'HEAD') {
              expect(JSON.parse(body).error, body).toEqual({
                code: expect.any(String),
                message: expect.any(String),
                details: expect.any(Object),
              });
            }
          }
          await expectHealthy(target);
        }),
        { numRuns: 150, seed: 1313, endOnFailure: true },
      );
    } finally {
      await fuzzed.close();
    }
    // The generator is not degenerate: routes, handlers and the parser's refusals all ran.
    expect([...seen]).toEqual(expect.arrayContaining([200, 400, 404, 405, 421]));
    expect(logged).toEqual([]);
  }, 240_000);
});

describe('the local DynamoDB endpoint with browser pages', () => {
  it('refuses requests carrying an Origin header, preflights and foreign Hosts without CORS headers, and keeps serving the SDK', async () => {
    const target = portOf(dynamo.endpoint);
    const listTables = JSON.stringify({});
    const amz = {
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': 'DynamoDB_20120810.ListTables',
      'content-length': Buffer.byteLength(listTables),
      connection: 'close',
    };
    const fromPage = await rawRequest(target, {
      pieces: [
        requestHead('POST', '/', target, { ...amz, origin: 'http://attacker.example' }) +
          listTables,
      ],
    });
    expect(fromPage.response?.status, fromPage.raw).toBe(403);
    expect(fromPage.response?.body).toContain('AccessDeniedException');
    expect(fromPage.response?.headers['access-control-allow-origin']).toBeUndefined();
    expect(fromPage.raw).not.toContain('TableNames');
    const preflight = await rawRequest(target, {
      pieces: [
        requestHead('OPTIONS', '/', target, {
          origin: 'http://attacker.example',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'x-amz-target',
          connection: 'close',
        }),
      ],
    });
    expect(preflight.response?.status, preflight.raw).toBe(403);
    expect(preflight.response?.headers['access-control-allow-origin']).toBeUndefined();
    expect(preflight.response?.headers['access-control-allow-methods']).toBeUndefined();
    const rebound = await rawRequest(target, {
      pieces: [
        requestHead('POST', '/', target, { ...amz, host: `attacker.example:${target}` }) +
          listTables,
      ],
    });
    expect(rebound.response?.status, rebound.raw).toBe(403);
    expect(rebound.raw).not.toContain('TableNames');
    const client = localDynamoClient(dynamo.endpoint);
    try {
      expect((await client.send(new ListTablesCommand({}))).TableNames).toContain(
        'fstore-hostile-online',
      );
    } finally {
      client.destroy();
    }
  });

  it('drops a client that disconnects mid-body and keeps serving', async () => {
    const target = portOf(dynamo.endpoint);
    await rawRequest(target, {
      pieces: [
        requestHead('POST', '/', target, {
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': 'DynamoDB_20120810.ListTables',
          'content-length': 100,
        }),
        '{',
      ],
      pauseMs: 5,
      after: 'destroy',
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const client = localDynamoClient(dynamo.endpoint);
    try {
      expect((await client.send(new ListTablesCommand({}))).TableNames).toContain(
        'fstore-hostile-online',
      );
    } finally {
      client.destroy();
    }
    await expectHealthy();
  });
});

function documentedStatuses(document: {
  paths?: Record<string, Record<string, { responses?: Record<string, unknown> }>>;
}): Set<string> {
  const statuses = new Set<string>();
  for (const operations of Object.values(document.paths ?? {}))
    for (const operation of Object.values(operations))
      for (const status of Object.keys(operation.responses ?? {})) statuses.add(status);
  return statuses;
}
