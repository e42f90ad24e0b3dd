import { BatchGetItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HintedError } from '../../../lib/hinted-error.ts';
import {
  Deadline,
  DeadlineExceededError,
  noTimeForAnotherAttempt,
} from '../../../lib/online/dynamodb-batch-get/deadline.ts';
import {
  errorOfResponse,
  retryableOf,
} from '../../../lib/online/dynamodb-batch-get/dynamodb-request-error.ts';
import { batchGetFromEnvironment } from '../../../lib/online/dynamodb-batch-get/from-environment.ts';
import { sdkBatchGet } from '../../../lib/online/dynamodb-batch-get/sdk-batch-get.ts';
import { signedBatchGet } from '../../../lib/online/dynamodb-batch-get/signed-batch-get.ts';
import {
  OnlineStoreMisconfiguredError,
  OnlineStoreUnavailableError,
  storeFailure,
} from '../../../lib/online/store-failure.ts';
import {
  type DynamoDbFaultServer,
  startDynamoDbFaultServer,
} from '../../helpers/dynamodb-fault-server.ts';

const table = 'fstore-dev-online';
const input = { RequestItems: { [table]: { Keys: [{ pk: { S: 'v1#C1' } }] } } };

describe('storeFailure: failures of unusual shape', () => {
  it('classes a thrown non-Error that its client marked not retryable as misconfigured, of unknown type', () => {
    const thrown = { $fault: 'client', $retryable: undefined, message: 'refused' };
    const failure = storeFailure(thrown);
    expect(failure).toBeInstanceOf(OnlineStoreMisconfiguredError);
    expect((failure as OnlineStoreMisconfiguredError).errorType).toBe('unknown');
    expect(failure.cause).toBe(thrown);
  });

  it("passes on a store's own hinted failure in its words, as unavailable, keeping it as the cause", () => {
    const damaged = new HintedError(
      'the local online store is damaged',
      'run fstore online repair',
    );
    const failure = storeFailure(damaged);
    expect(failure).toBeInstanceOf(OnlineStoreUnavailableError);
    expect(failure.message).toBe('the local online store is damaged');
    expect((failure as OnlineStoreUnavailableError).hint).toBe('run fstore online repair');
    expect(failure.cause).toBe(damaged);
  });
});

describe('the error of a lookup out of time', () => {
  it('names the time left, rounded, and the attempts made, with nothing after when nothing failed', () => {
    let clock = 0;
    const deadline = Deadline.after(1_000, { now: () => clock });
    deadline.countAttempts(2);
    clock = 939.6;
    const error = noTimeForAnotherAttempt(deadline, 'round 2');
    expect(error.message).toBe(
      "the lookup's 1000 ms deadline leaves no time for round 2 (60 ms left, 2 DynamoDB attempt(s) made)",
    );
    expect(error.attempts).toBe(2);
    expect(error.cause).toBeUndefined();
  });

  it('says 0 ms left, never a negative time, past the deadline, and names the last failure', () => {
    let clock = 0;
    const deadline = Deadline.after(500, { now: () => clock });
    clock = 750;
    const throttled = new Error('throttled');
    const error = noTimeForAnotherAttempt(deadline, 'attempt 3', throttled);
    expect(error.message).toBe(
      "the lookup's 500 ms deadline leaves no time for attempt 3 (0 ms left, 0 DynamoDB attempt(s) made); the last failed: throttled",
    );
    expect(error.cause).toBe(throttled);
  });
});

describe('DynamoDB error answers with nothing to say', () => {
  it('says "no message" for an empty error body, with the status as the type', () => {
    const error = errorOfResponse(503, undefined, '');
    expect(error.message).toBe('DynamoDB answered 503 HTTP503: no message');
    expect(error.retryable).toBe(true);
  });
});

describe('retryableOf an AWS SDK error', () => {
  it('retries a server fault of any type, and says nothing of an error with no fault', () => {
    expect(retryableOf({ $fault: 'server', name: 'InternalServerError', $metadata: {} })).toBe(
      true,
    );
    expect(retryableOf({ $fault: 'client', name: 'ValidationException', $metadata: {} })).toBe(
      false,
    );
    expect(retryableOf({ name: 'TimeoutError' })).toBeUndefined();
    // An SDK error need not carry $metadata.
    expect(retryableOf({ $fault: 'client', name: 'ValidationException' })).toBe(false);
  });
});

describe('batchGetFromEnvironment: the variable missing', () => {
  it('names a single missing variable with "is"', () => {
    expect(() =>
      batchGetFromEnvironment({ AWS_ACCESS_KEY_ID: 'AKIDTEST', AWS_SECRET_ACCESS_KEY: 's' }),
    ).toThrow('online-lookup DynamoDB client: AWS_REGION is not set; the Lambda runtime sets them');
  });

  it('refuses a missing access key even when the region is set', () => {
    expect(() =>
      batchGetFromEnvironment({ AWS_REGION: 'eu-west-1', AWS_SECRET_ACCESS_KEY: 's' }),
    ).toThrow('online-lookup DynamoDB client: AWS_ACCESS_KEY_ID is not set');
  });
});

describe('sdkBatchGet under a deadline', () => {
  const dynamo = mockClient(DynamoDBClient);
  beforeEach(() => dynamo.reset());
  afterEach(() => dynamo.restore());

  it('sends nothing once the deadline has passed, and says it had no time for the call', async () => {
    const deadline = Deadline.after(0, { now: () => 0 });
    const failure = await sdkBatchGet(new DynamoDBClient({}))(input, { deadline }).catch(
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(DeadlineExceededError);
    expect((failure as Error).message).toContain('leaves no time for a BatchGetItem call');
    expect(dynamo.commandCalls(BatchGetItemCommand)).toHaveLength(0);
  });

  it("counts the SDK's attempts of a call, and one when the SDK does not say", async () => {
    const deadline = Deadline.after(60_000, { now: () => 0 });
    dynamo
      .on(BatchGetItemCommand)
      .resolvesOnce({ Responses: { [table]: [] }, $metadata: { attempts: 3 } })
      .resolvesOnce({ Responses: { [table]: [] }, $metadata: {} });
    const batchGet = sdkBatchGet(new DynamoDBClient({}));
    await batchGet(input, { deadline });
    expect(deadline.attempts).toBe(3);
    await batchGet(input, { deadline });
    expect(deadline.attempts).toBe(4);
  });
});

describe('signedBatchGet: a malformed UnprocessedKeys', () => {
  let server: DynamoDbFaultServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('refuses an UnprocessedKeys that is not an object of tables, naming it', async () => {
    server = await startDynamoDbFaultServer(() => ({
      status: 200,
      body: JSON.stringify({ Responses: { [table]: [] }, UnprocessedKeys: ['x'] }),
    }));
    const batchGet = signedBatchGet({
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' },
      endpoint: server.endpoint,
    });
    await expect(batchGet(input)).rejects.toThrow(
      "DynamoDB's BatchGetItem answer is malformed: UnprocessedKeys is not an object of tables",
    );
  });
});
