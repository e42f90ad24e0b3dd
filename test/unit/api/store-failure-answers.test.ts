import { DynamoDBServiceException } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import {
  type ApiDependencies,
  type DependencyFailure,
  handleRequest,
} from '../../../lib/api/handle-request.ts';
import {
  Deadline,
  DeadlineExceededError,
} from '../../../lib/online/dynamodb-batch-get/deadline.ts';
import {
  DynamoDbRequestError,
  errorOfNetwork,
  errorOfResponse,
} from '../../../lib/online/dynamodb-batch-get/dynamodb-request-error.ts';
import { storeFailure } from '../../../lib/online/store-failure.ts';
import { onlineRegistry } from '../../helpers/online-registry.ts';

const { registry } = onlineRegistry();
const account = '123456789012';
const tableArn = `arn:aws:dynamodb:eu-west-1:${account}:table/fstore-prod-online`;
const role = `arn:aws:sts::${account}:assumed-role/fstore-prod-LookupServiceRole-1A2B3C/fstore-prod-Lookup`;

/** DynamoDB's own error documents (message texts as DynamoDB writes them). */
const dynamoDbAnswer = (status: number, type: string, message: string) =>
  errorOfResponse(
    status,
    undefined,
    JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${type}`, message }),
  );

const cases = [
  {
    what: 'access denied (a role without BatchGetItem)',
    failure: dynamoDbAnswer(
      400,
      'AccessDeniedException',
      `User: ${role} is not authorized to perform: dynamodb:BatchGetItem on resource: ${tableArn} because no identity-based policy allows the dynamodb:BatchGetItem action`,
    ),
    secret: role,
    status: 500,
    code: 'INTERNAL',
    level: 'error',
    hint: /dynamodb:BatchGetItem on the table/,
  },
  {
    what: 'a missing table',
    failure: dynamoDbAnswer(
      400,
      'ResourceNotFoundException',
      `Requested resource not found: Table: ${tableArn} not found`,
    ),
    secret: tableArn,
    status: 500,
    code: 'INTERNAL',
    level: 'error',
    hint: /TABLE_NAME and AWS_REGION/,
  },
  {
    what: 'unknown credentials',
    failure: dynamoDbAnswer(
      400,
      'UnrecognizedClientException',
      'The security token included in the request is invalid.',
    ),
    secret: 'The security token included in the request is invalid.',
    status: 500,
    code: 'INTERNAL',
    level: 'error',
    hint: /AWS_ACCESS_KEY_ID/,
  },
  {
    what: 'an invalid request',
    failure: dynamoDbAnswer(
      400,
      'ValidationException',
      'The provided key element does not match the schema',
    ),
    secret: 'The provided key element does not match the schema',
    status: 500,
    code: 'INTERNAL',
    level: 'error',
    hint: /TABLE_NAME names fstore's online table/,
  },
  {
    what: 'throttling through every retry',
    failure: dynamoDbAnswer(
      400,
      'ProvisionedThroughputExceededException',
      `The level of configured provisioned throughput for the table ${tableArn} was exceeded.`,
    ),
    secret: tableArn,
    status: 503,
    code: 'STORE_UNAVAILABLE',
    level: 'warn',
    hint: /retry/,
  },
  {
    what: 'a 500 from DynamoDB',
    failure: dynamoDbAnswer(500, 'InternalServerError', `Internal server error on ${tableArn}`),
    secret: tableArn,
    status: 503,
    code: 'STORE_UNAVAILABLE',
    level: 'warn',
    hint: /retry/,
  },
  {
    what: 'a network failure',
    failure: errorOfNetwork(
      Object.assign(new Error('connect ECONNREFUSED 10.0.0.12:443'), { code: 'ECONNREFUSED' }),
    ),
    secret: '10.0.0.12',
    status: 503,
    code: 'STORE_UNAVAILABLE',
    level: 'warn',
    hint: /retry/,
  },
  ...['EADDRNOTAVAIL', 'ENOBUFS'].map((code) => ({
    what: `a socket that cannot open for now (${code})`,
    failure: errorOfNetwork(Object.assign(new Error(`connect ${code} 10.0.0.12:443`), { code })),
    secret: '10.0.0.12',
    status: 503,
    code: 'STORE_UNAVAILABLE',
    level: 'warn',
    hint: /retry/,
  })),
  {
    what: 'a SerializationException (a request DynamoDB cannot parse: a retry sends the same)',
    failure: dynamoDbAnswer(
      400,
      'SerializationException',
      `Start of structure or map found where not expected, table ${tableArn}`,
    ),
    secret: tableArn,
    status: 500,
    code: 'INTERNAL',
    level: 'error',
    hint: /bug to report/,
  },
  {
    what: "a proxy's 400 page",
    failure: errorOfResponse(
      400,
      undefined,
      '<html><body>400 Bad Request (egress-proxy.corp.example)</body></html>',
    ),
    secret: 'egress-proxy.corp.example',
    status: 500,
    code: 'INTERNAL',
    level: 'error',
    hint: /proxy/,
  },
  {
    what: 'an answer that is not DynamoDB’s JSON',
    failure: new DynamoDbRequestError(
      `DynamoDB's BatchGetItem answer is malformed: not JSON: "<html>${tableArn}"`,
      'MalformedResponse',
      200,
      false,
    ),
    secret: tableArn,
    status: 500,
    code: 'INTERNAL',
    level: 'error',
    hint: /could not be read/,
  },
  {
    what: 'a TLS certificate the client refuses',
    failure: errorOfNetwork(
      Object.assign(
        new Error(
          `Hostname/IP does not match certificate's altnames: dynamodb.${account}.internal`,
        ),
        { code: 'ERR_TLS_CERT_ALTNAME_INVALID' },
      ),
    ),
    secret: `dynamodb.${account}.internal`,
    status: 500,
    code: 'INTERNAL',
    level: 'error',
    hint: /TLS/,
  },
  {
    what: 'a RequestTimeoutException (the server gave up on the request: transient)',
    failure: dynamoDbAnswer(400, 'RequestTimeoutException', `Request timed out on ${tableArn}`),
    secret: tableArn,
    status: 503,
    code: 'STORE_UNAVAILABLE',
    level: 'warn',
    hint: /retry/,
  },
  {
    what: 'a timeout of every attempt',
    failure: new DynamoDbRequestError(
      'DynamoDB did not answer within 2000 ms (attempt 3 of 3)',
      'TimeoutError',
      undefined,
      true,
    ),
    secret: 'did not answer within 2000 ms',
    status: 503,
    code: 'STORE_UNAVAILABLE',
    level: 'warn',
    hint: /retry/,
  },
  {
    what: 'a connection reset on every attempt',
    failure: errorOfNetwork(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })),
    secret: 'read ECONNRESET',
    status: 503,
    code: 'STORE_UNAVAILABLE',
    level: 'warn',
    hint: /retry/,
  },
] as const;

function depsFailingWith(error: unknown, logged: DependencyFailure[]): ApiDependencies {
  return {
    registry,
    limits: { maxEntities: 10, maxBodyBytes: 10_000 },
    lookup: async () => {
      throw error;
    },
    health: async () => true,
    onDependencyError: (failure) => logged.push(failure),
  };
}

const lookup = (deps: ApiDependencies, extra: { deadline?: Deadline } = {}) =>
  handleRequest(
    {
      method: 'POST',
      path: '/v1/feature-views/profile',
      body: JSON.stringify({ entities: [{ customer_id: 'C1' }] }),
      requestId: 'req-7f3a',
      ...extra,
    },
    deps,
  );

describe('5xx answers of an online-store failure', () => {
  it.each(cases)(
    'answers $what with $status $code and a generic message, the DynamoDB text only in the log',
    async ({ failure, secret, status, code, level, hint }) => {
      const logged: DependencyFailure[] = [];
      const response = await lookup(depsFailingWith(storeFailure(failure), logged));
      expect(response.statusCode).toBe(status);
      const body = JSON.parse(response.body);
      expect(body.error).toMatchObject({ code, details: { requestId: 'req-7f3a' } });
      expect(body.error.message).toContain('req-7f3a');
      expect(response.body).not.toContain(secret);
      expect(response.body).not.toContain(account);
      expect(response.body).not.toContain(failure.errorType);
      if (status === 503) expect(response.headers['retry-after']).toBe('1');
      else expect(response.headers).not.toHaveProperty('retry-after');
      expect(logged).toHaveLength(1);
      expect(logged[0]).toMatchObject({ level, code, requestId: 'req-7f3a' });
      expect(logged[0]?.detail).toContain(secret);
      expect(logged[0]?.errorType).toBe(failure.errorType);
      expect(logged[0]?.hint).toMatch(hint);
    },
  );

  it.each([
    ['SerializationException', 'client', 400, 500, 'INTERNAL'],
    ['SomeProxyRefusal', 'client', 403, 500, 'INTERNAL'],
    ['ThrottlingException', 'client', 400, 503, 'STORE_UNAVAILABLE'],
    ['SlowDown', 'client', 429, 503, 'STORE_UNAVAILABLE'],
    ['InternalServerError', 'server', 500, 503, 'STORE_UNAVAILABLE'],
  ] as const)(
    'answers an AWS SDK %s (%s fault, HTTP %d) after its retries with %d %s',
    async (name, fault, httpStatusCode, status, code) => {
      const failure = new DynamoDBServiceException({
        name,
        $fault: fault,
        $metadata: { httpStatusCode, attempts: 3 },
        message: `refused on ${tableArn}`,
      });
      const logged: DependencyFailure[] = [];
      const response = await lookup(depsFailingWith(storeFailure(failure), logged));
      expect(response.statusCode).toBe(status);
      expect(JSON.parse(response.body).error.code).toBe(code);
      expect(response.body).not.toContain(tableArn);
      expect(logged[0]?.detail).toContain(tableArn);
    },
  );

  it('answers a lookup past its deadline with 503 DEADLINE_EXCEEDED and Retry-After, logging the attempts', async () => {
    const logged: DependencyFailure[] = [];
    const error = new DeadlineExceededError(
      `the lookup's 9500 ms deadline leaves no time for BatchGetItem attempt 4; the last failed: DynamoDB did not answer within 2000 ms (${tableArn})`,
      3,
    );
    const response = await lookup(depsFailingWith(error, logged));
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('1');
    expect(JSON.parse(response.body).error).toMatchObject({
      code: 'DEADLINE_EXCEEDED',
      details: { requestId: 'req-7f3a' },
    });
    expect(response.body).not.toContain(tableArn);
    expect(logged[0]).toMatchObject({ level: 'warn', code: 'DEADLINE_EXCEEDED', attempts: 3 });
    expect(logged[0]?.detail).toContain(tableArn);
  });

  it('gives the lookup the request’s deadline', async () => {
    const deadline = Deadline.after(5_000);
    const seen: unknown[] = [];
    const deps: ApiDependencies = {
      ...depsFailingWith(new Error('unused'), []),
      lookup: async (_, call) => {
        seen.push(call.deadline);
        throw new DeadlineExceededError('out of time', 0);
      },
    };
    await lookup(deps, { deadline });
    expect(seen).toEqual([deadline]);
  });

  it('answers a bug with 500 INTERNAL and the request id, the error only in the log', async () => {
    const unexpected: unknown[] = [];
    const deps: ApiDependencies = {
      ...depsFailingWith(new TypeError(`cannot read ${tableArn}`), []),
      onUnexpectedError: (error, requestId) => unexpected.push([error, requestId]),
    };
    const response = await lookup(deps);
    expect(response.statusCode).toBe(500);
    expect(JSON.parse(response.body).error).toMatchObject({
      code: 'INTERNAL',
      details: { requestId: 'req-7f3a' },
    });
    expect(response.body).not.toContain(tableArn);
    expect(unexpected).toEqual([[expect.any(TypeError), 'req-7f3a']]);
  });
});

describe('the OpenAPI document of those answers', () => {
  it('documents the 503 codes with Retry-After and the request id of 500 and 503', async () => {
    const response = await handleRequest(
      { method: 'GET', path: '/v1/openapi.json' },
      depsFailingWith(new Error('unused'), []),
    );
    const responses = JSON.parse(response.body).paths['/v1/features/{service}'].post.responses;
    expect(responses['503'].headers).toHaveProperty('Retry-After');
    expect(responses['503'].description).toMatch(/STORE_UNAVAILABLE.*DEADLINE_EXCEEDED/);
    for (const status of ['500', '503'])
      expect(responses[status].description).toContain('details.requestId');
  });
});
