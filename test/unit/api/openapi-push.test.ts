import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { Validator } from '@seriousme/openapi-schema-validator';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { errorSchema } from '../../../lib/api/lookup-schema.ts';
import { openApiDocument } from '../../../lib/api/openapi.ts';
import { pushAnswerSchema, pushBodySchema } from '../../../lib/api/push-schema.ts';
import { handlePush } from '../../../lib/push/handle-push.ts';
import { defaultPushLimits } from '../../../lib/push/push-limits.ts';
import { pushRegistryProjection } from '../../../lib/registry/runtime-projection.ts';
import { paymentRow, pushRegistry } from '../../helpers/push-registry.ts';

const dynamo = mockClient(DynamoDBClient);
const registry = pushRegistryProjection(pushRegistry());
const at = new Date(Date.now() - 3_600_000).toISOString();

type Operation = {
  parameters: { name: string; in: string; required?: boolean }[];
  requestBody: { required: boolean; content: Record<string, { schema: Record<string, unknown> }> };
  responses: Record<string, { description: string; content?: unknown; headers?: object }>;
};

function pushOperation(): Operation {
  const paths = openApiDocument('test').paths as Record<string, { post?: Operation }>;
  const post = paths['/v1/push/{source}']?.post;
  if (!post) throw new Error('the document has no POST /v1/push/{source}');
  return post;
}

function push(body: unknown, key?: string) {
  return handlePush(
    {
      method: 'POST',
      path: '/v1/push/payments',
      headers: {
        'content-type': 'application/json',
        ...(key === undefined ? {} : { 'idempotency-key': key }),
      },
      body: JSON.stringify(body),
      requestId: 'req-1',
    },
    {
      registry,
      limits: defaultPushLimits,
      client: new DynamoDBClient({ region: 'eu-west-1' }),
      table: 'fstore-dev-online',
    },
  );
}

beforeEach(() => dynamo.reset());

describe('the OpenAPI document’s push route', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(
      JSON.parse(JSON.stringify(openApiDocument('test'))),
    );
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    // The validator does refuse a broken document: a response without its description.
    const broken = JSON.parse(JSON.stringify(openApiDocument('test')));
    delete broken.paths['/v1/push/{source}'].post.responses['200'].description;
    expect((await new Validator().validate(broken)).valid).toBe(false);
  });

  it('lists POST /v1/push/{source} with its body, the Idempotency-Key header and every answer', () => {
    const post = pushOperation();
    expect(post.parameters.map((p) => [p.name, p.in, p.required ?? false])).toEqual([
      ['source', 'path', true],
      ['Idempotency-Key', 'header', false],
    ]);
    const body = post.requestBody.content['application/json']?.schema as {
      required: string[];
      properties: { to: { enum: string[] } };
    };
    expect(post.requestBody.required).toBe(true);
    expect(body.required).toEqual(['rows']);
    expect(body.properties.to.enum).toEqual(['online', 'offline', 'online_and_offline']);
    // 408, 417, 421 and 431 are the local server's answers to any request.
    expect(Object.keys(post.responses).sort()).toEqual(
      ['200', '400', '404', '405', '408', '409', '413', '415', '417', '421', '422', '431']
        .concat(['500', '501', '503'])
        .sort(),
    );
    for (const [status, text] of [
      ['400', 'INVALID_ROW'],
      ['409', 'IDEMPOTENCY_KEY_IN_PROGRESS'],
      ['413', 'TOO_MANY_ROWS'],
      ['422', 'IDEMPOTENCY_KEY_REUSED'],
      ['501', 'OFFLINE_PUSH_UNAVAILABLE'],
      ['503', 'STORE_UNAVAILABLE'],
    ] as const)
      expect(post.responses[status]?.description).toContain(text);
    expect(post.responses['200']?.headers).toHaveProperty('idempotent-replayed');
  });

  it('describes what the push handler really answers: a 200 and its errors parse against the published schemas', async () => {
    dynamo
      .on(PutItemCommand)
      .resolvesOnce({})
      .rejects(new ConditionalCheckFailedException({ message: 'newer', $metadata: {} }));
    const body = { to: 'online', rows: [paymentRow(at)] };
    expect(() => z.parse(pushBodySchema, body)).not.toThrow();
    const ok = await push(body);
    expect(ok.statusCode).toBe(200);
    expect(() => z.parse(pushAnswerSchema, JSON.parse(ok.body))).not.toThrow();
    for (const bad of [{ rows: [] }, { rows: [paymentRow(at, { amount: 'x' })], to: 'online' }]) {
      const answer = await push(bad);
      expect(answer.statusCode).toBe(400);
      expect(() => z.parse(errorSchema, JSON.parse(answer.body))).not.toThrow();
    }
  });

  it('refuses, in its schema, what the handler refuses: no rows, an unknown field, an unknown target', () => {
    for (const bad of [
      { rows: [] },
      { rows: [{}], extra: 1 },
      { rows: [{}], to: 'both' },
      { rows: [1] },
    ])
      expect(z.safeParse(pushBodySchema, bad).success).toBe(false);
  });
});
