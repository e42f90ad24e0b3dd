import { afterEach, describe, expect, it } from 'vitest';
import { DynamoDbRequestError } from '../../../lib/online/dynamodb-batch-get/dynamodb-request-error.ts';
import { batchGetFromEnvironment } from '../../../lib/online/dynamodb-batch-get/from-environment.ts';
import {
  dynamoDbEndpoint,
  type SignedBatchGetOptions,
  signedBatchGet,
} from '../../../lib/online/dynamodb-batch-get/signed-batch-get.ts';
import {
  type DynamoDbFaultServer,
  dynamoError,
  type FaultAnswer,
  ok,
  startDynamoDbFaultServer,
} from '../../helpers/dynamodb-fault-server.ts';

const table = 'fstore-dev-online';
const input = {
  RequestItems: { [table]: { Keys: [{ pk: { S: 'v1#C1' } }], ProjectionExpression: '#pk' } },
};
const item = { pk: { S: 'v1#C1' }, f: { M: { amount: { N: '12.5' } } } };
const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret', sessionToken: 'token-1' };

let server: DynamoDbFaultServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A client of a fault server answering `answers[n]` to the n-th request (the last one after). */
async function clientOf(answers: FaultAnswer[], options: Partial<SignedBatchGetOptions> = {}) {
  server = await startDynamoDbFaultServer(
    (index) => answers[Math.min(index, answers.length - 1)] as FaultAnswer,
  );
  const delays: number[] = [];
  const batchGet = signedBatchGet({
    region: 'eu-west-1',
    credentials,
    endpoint: server.endpoint,
    sleep: async (ms) => {
      delays.push(ms);
    },
    random: () => 1,
    ...options,
  });
  return { batchGet, delays, requests: server.requests };
}

describe('signedBatchGet: the lookup Lambda’s BatchGetItem over node:https', () => {
  it('posts the input as DynamoDB JSON with the operation target and a SigV4 signature carrying the session token', async () => {
    const { batchGet, requests } = await clientOf([ok({ Responses: { [table]: [item] } })]);
    const output = await batchGet(input);
    expect(output.Responses?.[table]).toEqual([item]);
    const [request] = requests;
    expect(request?.body).toEqual(input);
    expect(request?.headers['content-type']).toBe('application/x-amz-json-1.0');
    expect(request?.headers['x-amz-target']).toBe('DynamoDB_20120810.BatchGetItem');
    expect(request?.headers['x-amz-security-token']).toBe('token-1');
    expect(request?.headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    expect(request?.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDTEST\/\d{8}\/eu-west-1\/dynamodb\/aws4_request, SignedHeaders=[a-z0-9;-]*x-amz-security-token;x-amz-target, Signature=[0-9a-f]{64}$/,
    );
    expect(request?.headers.connection).toBe('keep-alive');
  });

  it('retries throttling and 5xx answers with jittered, growing backoff, then returns the answer', async () => {
    const { batchGet, delays, requests } = await clientOf(
      [
        dynamoError(400, 'ProvisionedThroughputExceededException', 'slow down'),
        dynamoError(503, 'ServiceUnavailable', 'try later'),
        ok({ Responses: { [table]: [item] } }),
      ],
      { baseDelayMs: 40 },
    );
    expect((await batchGet(input)).Responses?.[table]).toEqual([item]);
    expect(requests).toHaveLength(3);
    expect(delays).toEqual([40, 80]);
  });

  it('refuses a 200 answer longer than its byte cap without retrying, instead of holding all of it', async () => {
    const big = { pk: { S: 'v1#C1' }, f: { S: 'x'.repeat(4_000) } };
    const { batchGet, requests } = await clientOf([ok({ Responses: { [table]: [big] } })], {
      maxAnswerBytes: 1_000,
    });
    const error = await batchGet(input).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DynamoDbRequestError);
    expect(error).toMatchObject({ errorType: 'MalformedResponse', retryable: false });
    expect((error as Error).message).toMatch(/longer than 1000 bytes/);
    expect(requests).toHaveLength(1);
  });

  it('stops reading an error answer at its smaller byte cap and classes it by its status: a long 5xx page is retried, a long 4xx is not', async () => {
    const { batchGet, requests } = await clientOf(
      [
        dynamoError(503, 'ServiceUnavailable', 'y'.repeat(3_000)),
        ok({ Responses: { [table]: [item] } }),
      ],
      { maxErrorAnswerBytes: 500 },
    );
    expect((await batchGet(input)).Responses?.[table]).toEqual([item]);
    expect(requests).toHaveLength(2);

    const refused = await clientOf([dynamoError(400, 'ValidationException', 'z'.repeat(3_000))], {
      maxErrorAnswerBytes: 500,
    });
    // The cut JSON does not parse, so the type is the status's.
    await expect(refused.batchGet(input)).rejects.toMatchObject({
      errorType: 'HTTP400',
      statusCode: 400,
      retryable: false,
    });
    expect(refused.requests).toHaveLength(1);
  });

  it('accepts answers up to the caps', async () => {
    const { batchGet } = await clientOf([ok({ Responses: { [table]: [item] } })], {
      maxAnswerBytes: 1_000,
    });
    expect((await batchGet(input)).Responses?.[table]).toEqual([item]);
  });

  it('gives up after the bounded attempts, naming DynamoDB’s error type and the attempts', async () => {
    const { batchGet, requests } = await clientOf([
      dynamoError(400, 'ThrottlingException', 'rate exceeded'),
    ]);
    const failure = batchGet(input);
    await expect(failure).rejects.toThrow(
      'DynamoDB answered 400 ThrottlingException: rate exceeded (attempt 3 of 3)',
    );
    await expect(failure).rejects.toMatchObject({ errorType: 'ThrottlingException' });
    expect(requests).toHaveLength(3);
  });

  it('does not retry what a retry cannot fix (a missing table, a bad request)', async () => {
    const { batchGet, requests } = await clientOf([
      dynamoError(400, 'ResourceNotFoundException', 'Requested resource not found'),
    ]);
    await expect(batchGet(input)).rejects.toThrow(
      'DynamoDB answered 400 ResourceNotFoundException: Requested resource not found',
    );
    expect(requests).toHaveLength(1);
  });

  it('reads the error type from x-amzn-ErrorType when the body is not DynamoDB’s JSON', async () => {
    const { batchGet } = await clientOf(
      [
        {
          status: 502,
          body: '<html>Bad Gateway</html>',
          headers: { 'x-amzn-ErrorType': 'BadGateway:http://x' },
        },
      ],
      { maxAttempts: 1 },
    );
    await expect(batchGet(input)).rejects.toThrow(
      'DynamoDB answered 502 BadGateway: <html>Bad Gateway</html>',
    );
  });

  it('retries a connection cut before the answer, on a new connection', async () => {
    const { batchGet, requests } = await clientOf([
      'reset',
      ok({ Responses: { [table]: [item] } }),
    ]);
    expect((await batchGet(input)).Responses?.[table]).toEqual([item]);
    expect(requests).toHaveLength(2);
  });

  it('retries an answer cut off in the middle, rather than reading half of it', async () => {
    const { batchGet, requests } = await clientOf(['cut', ok({ Responses: { [table]: [item] } })]);
    expect((await batchGet(input)).Responses?.[table]).toEqual([item]);
    expect(requests).toHaveLength(2);
  });

  it.each([
    ['no answer', 'hang'],
    ['an answer that stops half way', 'stall'],
  ] as const)(
    'times out an attempt that gets %s, retries it, and fails with a timeout after the last',
    async (_, fault) => {
      const { batchGet, requests } = await clientOf([fault], { timeoutMs: 150, maxAttempts: 2 });
      const failure = batchGet(input);
      await expect(failure).rejects.toThrow(
        'DynamoDB did not answer within 150 ms (attempt 2 of 2)',
      );
      await expect(failure).rejects.toMatchObject({ errorType: 'TimeoutError' });
      expect(requests).toHaveLength(2);
    },
  );

  it.each([
    ['text that is not JSON', '<html>oops</html>', 'not JSON: "<html>oops</html>"'],
    ['a JSON array', '[]', 'not a JSON object'],
    [
      'items that are not objects',
      JSON.stringify({ Responses: { [table]: [null] } }),
      `Responses.${table} is not a list of items`,
    ],
    [
      'Responses that is not a map of tables',
      JSON.stringify({ Responses: [] }),
      'Responses is not an object of tables',
    ],
    [
      'UnprocessedKeys without a key list',
      JSON.stringify({ UnprocessedKeys: { [table]: { Keys: 'x' } } }),
      `UnprocessedKeys.${table}.Keys is not a list of keys`,
    ],
  ])('refuses a 200 answer holding %s, without retrying it', async (_, body, what) => {
    const { batchGet, requests } = await clientOf([{ status: 200, body }]);
    await expect(batchGet(input)).rejects.toThrow(
      `DynamoDB's BatchGetItem answer is malformed: ${what}`,
    );
    expect(requests).toHaveLength(1);
  });

  it('returns UnprocessedKeys as DynamoDB gave them (the lookup retries those)', async () => {
    const pending = { [table]: { Keys: [{ pk: { S: 'v1#C2' } }], ProjectionExpression: '#pk' } };
    const { batchGet, requests } = await clientOf([
      ok({ Responses: { [table]: [item] }, UnprocessedKeys: pending }),
    ]);
    expect((await batchGet(input)).UnprocessedKeys).toEqual(pending);
    expect(requests).toHaveLength(1);
  });

  it('sends binary key attributes as base64 and reads binary attributes back as bytes, at any depth', async () => {
    const bytes = new Uint8Array([0, 1, 254, 255]);
    const { batchGet, requests } = await clientOf([
      ok({
        Responses: {
          [table]: [{ pk: { B: 'AAH+/w==' }, f: { M: { list: { L: [{ BS: ['AAH+/w=='] }] } } } }],
        },
      }),
    ]);
    const output = await batchGet({ RequestItems: { [table]: { Keys: [{ pk: { B: bytes } }] } } });
    expect(requests[0]?.body).toEqual({
      RequestItems: { [table]: { Keys: [{ pk: { B: 'AAH+/w==' } }] } },
    });
    expect(output.Responses?.[table]?.[0]).toEqual({
      pk: { B: bytes },
      f: { M: { list: { L: [{ BS: [bytes] }] } } },
    });
  });
});

describe('the lookup client’s configuration from the Lambda environment', () => {
  it('names each missing variable', () => {
    expect(() => batchGetFromEnvironment({ AWS_ACCESS_KEY_ID: 'a' })).toThrow(
      'online-lookup DynamoDB client: AWS_REGION, AWS_SECRET_ACCESS_KEY are not set',
    );
  });

  it('sends to AWS_ENDPOINT_URL_DYNAMODB, with the session token from AWS_SESSION_TOKEN', async () => {
    server = await startDynamoDbFaultServer(() => ok({}));
    const batchGet = batchGetFromEnvironment({
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIDENV',
      AWS_SECRET_ACCESS_KEY: 's',
      AWS_SESSION_TOKEN: 'env-token',
      AWS_ENDPOINT_URL_DYNAMODB: server.endpoint,
    });
    await batchGet(input);
    expect(server.requests[0]?.headers['x-amz-security-token']).toBe('env-token');
    expect(server.requests[0]?.headers.authorization).toContain('/us-east-1/dynamodb/aws4_request');
  });

  it('refuses a plain http:// endpoint that is not loopback, and accepts loopback ones', () => {
    const options = { region: 'eu-west-1', credentials };
    expect(() =>
      signedBatchGet({ ...options, endpoint: 'http://dynamo.example.com:8000' }),
    ).toThrow(
      'DynamoDB endpoint http://dynamo.example.com:8000/: plain http:// is only allowed to a loopback host',
    );
    expect(() => signedBatchGet({ ...options, endpoint: 'http://10.0.0.5' })).toThrow(/loopback/);
    for (const endpoint of [
      'http://127.0.0.1:8000',
      'http://[::1]:8000',
      'http://localhost:8000',
      'https://dynamo.example.com',
    ])
      expect(() => signedBatchGet({ ...options, endpoint })).not.toThrow();
  });

  it('uses DynamoDB’s regional endpoint of the region’s partition, and refuses what is not a region', () => {
    expect(dynamoDbEndpoint('eu-west-1')).toBe('https://dynamodb.eu-west-1.amazonaws.com');
    expect(dynamoDbEndpoint('us-gov-west-1')).toBe('https://dynamodb.us-gov-west-1.amazonaws.com');
    expect(dynamoDbEndpoint('cn-north-1')).toBe('https://dynamodb.cn-north-1.amazonaws.com.cn');
    expect(() => dynamoDbEndpoint('us-iso-east-1')).toThrow('set AWS_ENDPOINT_URL_DYNAMODB');
    expect(() => dynamoDbEndpoint('eu-west-1.evil.com/')).toThrow(
      'AWS region "eu-west-1.evil.com/" is not a region name',
    );
  });

  it('refuses an endpoint that is not http(s)', () => {
    expect(() =>
      signedBatchGet({ region: 'eu-west-1', credentials, endpoint: 'file:///etc/passwd' }),
    ).toThrow('DynamoDB endpoint file:///etc/passwd: must be an http:// or https:// URL');
  });
});

describe('DynamoDbRequestError', () => {
  it('keeps its class name through minifying (Lambda’s errorType, the logs)', () => {
    expect(new DynamoDbRequestError('x', 'T', 400, false).name).toBe('DynamoDbRequestError');
  });
});
