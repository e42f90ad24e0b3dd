import { afterEach, describe, expect, it } from 'vitest';
import { localLambdaContext } from '../../../lambdas/online-lookup/handler.ts';
import { createBatchGetLookupHandler } from '../../../lambdas/online-lookup/lookup-handler.ts';
import {
  type HttpApiEvent,
  type LocalHttpServer,
  startHttpServer,
} from '../../../lib/local/http-server.ts';
import type { MetricsSink } from '../../../lib/observability/emf-metrics.ts';
import { StructuredLogger } from '../../../lib/observability/structured-logger.ts';
import { DynamoDbRequestError } from '../../../lib/online/dynamodb-batch-get/dynamodb-request-error.ts';
import { onlineRegistry } from '../../helpers/online-registry.ts';

/** The API's error body. */
type ErrorBody = { error: { code: string; details: Record<string, unknown> } };

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
let server: LocalHttpServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const post = (path: string) =>
  fetch(`${server?.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ entities: [{ customer_id: 'C1' }] }),
  });

describe('request ids of the local server (fstore serve)', () => {
  it('gives each request its own UUID, in the event and the x-request-id of the answer', async () => {
    const seen: HttpApiEvent[] = [];
    server = await startHttpServer(
      async (event) => {
        seen.push(event);
        return { statusCode: 200, headers: {}, body: '{}' };
      },
      { port: 0, maxBodyBytes: 1_000 },
    );
    const answers = [await post('/a'), await post('/b')];
    const ids = answers.map((answer) => answer.headers.get('x-request-id'));
    for (const id of ids) expect(id).toMatch(uuid);
    expect(ids[0]).not.toBe(ids[1]);
    expect(seen.map((event) => event.requestContext.requestId)).toEqual(ids);
  });

  it('names the request id of a handler that throws in the 500 body and the log', async () => {
    const logged: string[] = [];
    server = await startHttpServer(
      async () => {
        throw new TypeError('bug');
      },
      { port: 0, maxBodyBytes: 1_000, log: (message) => logged.push(message) },
    );
    const answer = await post('/x');
    const id = answer.headers.get('x-request-id') ?? '';
    expect(id).toMatch(uuid);
    expect(answer.status).toBe(500);
    expect(((await answer.json()) as ErrorBody).error).toMatchObject({
      code: 'INTERNAL',
      details: { requestId: id },
    });
    expect(logged).toEqual([`unexpected error serving request ${id}`]);
  });

  it('gives the lookup handler, wired as fstore serve wires it, each request’s id for its 5xx body and its log', async () => {
    const { registry } = onlineRegistry();
    const lines: Record<string, unknown>[] = [];
    const handler = createBatchGetLookupHandler({
      registry,
      batchGet: async () => {
        throw new DynamoDbRequestError(
          'DynamoDB answered 400 SerializationException: x',
          'SerializationException',
          400,
          false,
        );
      },
      config: {
        tableName: 'fstore-local-online',
        maxEntities: 10,
        maxBodyBytes: 1_000,
        cacheTtlMs: 0,
      },
      logger: new StructuredLogger({
        serviceName: 'online-lookup',
        env: {},
        write: (_, line) => lines.push(JSON.parse(line)),
      }),
      metrics: { addMetric: () => {}, publishStoredMetrics: () => {} } satisfies MetricsSink,
    });
    server = await startHttpServer((event) => handler(event, localLambdaContext), {
      port: 0,
      maxBodyBytes: 1_000,
    });
    const answers = [
      await post('/v1/feature-views/profile'),
      await post('/v1/feature-views/profile'),
    ];
    const ids: string[] = [];
    for (const answer of answers) {
      const id = answer.headers.get('x-request-id') ?? '';
      expect(answer.status).toBe(500);
      expect(((await answer.json()) as ErrorBody).error.details).toEqual({ requestId: id });
      ids.push(id);
    }
    expect(ids[0]).toMatch(uuid);
    expect(ids[0]).not.toBe(ids[1]);
    expect(lines.map((line) => line.function_request_id)).toEqual(ids);
    expect(lines.map((line) => line.requestId)).toEqual(ids);
  });
});
