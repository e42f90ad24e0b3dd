import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import type { BatchGetItems } from '../../../lib/online/dynamodb-batch-get/batch-get-items.ts';
import {
  Deadline,
  DeadlineExceededError,
  noTimeForAnotherAttempt,
} from '../../../lib/online/dynamodb-batch-get/deadline.ts';
import { sdkBatchGet } from '../../../lib/online/dynamodb-batch-get/sdk-batch-get.ts';
import { signedBatchGet } from '../../../lib/online/dynamodb-batch-get/signed-batch-get.ts';
import { fetchLookup } from '../../../lib/online/online-lookup.ts';
import { storeFailure } from '../../../lib/online/store-failure.ts';
import {
  type DynamoDbFaultServer,
  dynamoError,
  startDynamoDbFaultServer,
} from '../../helpers/dynamodb-fault-server.ts';
import { allFeatures, onlineRegistry } from '../../helpers/online-registry.ts';

const { registry } = onlineRegistry();
const table = 'fstore-dev-online';
const input = { RequestItems: { [table]: { Keys: [{ pk: { S: 'v1#C1' } }] } } };
const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret', sessionToken: 't' };
const lookupRequest = (count: number) => ({
  views: allFeatures,
  entities: Array.from({ length: count }, (_, i) => ({ customer_id: `C${i}` })),
});

/** A clock the test moves: backoff sleeps and simulated calls advance it, nothing waits. */
function fakeClock() {
  const clock = { ms: 0 };
  return {
    clock,
    now: () => clock.ms,
    sleep: async (ms: number) => {
      clock.ms += ms;
    },
  };
}

let server: DynamoDbFaultServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('Deadline', () => {
  it('allows an attempt only while at least the floor is left after the wait', () => {
    const { clock, now } = fakeClock();
    const deadline = Deadline.after(1_000, { now, minAttemptMs: 100 });
    expect(deadline.allowsAttemptAfter(900)).toBe(true);
    expect(deadline.allowsAttemptAfter(901)).toBe(false);
    clock.ms = 950;
    expect(deadline.timeLeftMs()).toBe(50);
    expect(deadline.allowsAttemptAfter(0)).toBe(false);
  });

  it('refuses a budget that is not a finite number, naming it', () => {
    expect(() => Deadline.after(Number.NaN)).toThrow(
      'a lookup deadline needs a finite number of milliseconds, got NaN',
    );
  });
});

describe('the signed BatchGetItem client under a deadline', () => {
  it('cuts the attempt’s timeout to the time left, and starts no attempt after it', async () => {
    server = await startDynamoDbFaultServer(() => 'hang');
    const batchGet = signedBatchGet({
      region: 'eu-west-1',
      credentials,
      endpoint: server.endpoint,
      timeoutMs: 30_000,
      maxAttempts: 5,
      sleep: async () => {},
    });
    const started = performance.now();
    const failure = await batchGet(input, { deadline: Deadline.after(300) }).catch((e) => e);
    // Without the cut it would wait 30 s per attempt: the bound is generous, not tight.
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(failure).toBeInstanceOf(DeadlineExceededError);
    expect(failure.message).toMatch(
      /no time for BatchGetItem attempt 1 to answer .*did not answer within/,
    );
    expect(server.requests).toHaveLength(1);
  });

  it.each([
    { maxAttempts: 1, timeoutMs: 250, budgetMs: 200 },
    // Attempt 1 gets its full second; the last gets what is left of 1.6 s (well over 100 ms).
    { maxAttempts: 2, timeoutMs: 1_000, budgetMs: 1_600 },
  ])(
    'reports the deadline, not an unavailable store, when the last of $maxAttempts attempt(s) had its timeout cut and timed out',
    async ({ maxAttempts, timeoutMs, budgetMs }) => {
      server = await startDynamoDbFaultServer(() => 'hang');
      const batchGet = signedBatchGet({
        region: 'eu-west-1',
        credentials,
        endpoint: server.endpoint,
        timeoutMs,
        maxAttempts,
        sleep: async () => {},
      });
      const failure = await batchGet(input, { deadline: Deadline.after(budgetMs) }).catch((e) => e);
      expect(failure).toBeInstanceOf(DeadlineExceededError);
      expect(failure.message).toMatch(
        new RegExp(
          `no time for BatchGetItem attempt ${maxAttempts} to answer .*did not answer within`,
        ),
      );
      expect(failure).toMatchObject({ attempts: maxAttempts });
      expect(storeFailure(failure)).toBe(failure);
      expect(server.requests).toHaveLength(maxAttempts);
    },
  );

  it('stops retrying throttling when the next backoff would end past the deadline', async () => {
    const { now, sleep, clock } = fakeClock();
    const sentAt: number[] = [];
    server = await startDynamoDbFaultServer(() => {
      sentAt.push(clock.ms);
      return dynamoError(400, 'ProvisionedThroughputExceededException', 'slow down');
    });
    const batchGet = signedBatchGet({
      region: 'eu-west-1',
      credentials,
      endpoint: server.endpoint,
      maxAttempts: 20,
      baseDelayMs: 200,
      maxDelayMs: 10_000,
      random: () => 1,
      sleep,
    });
    const deadline = Deadline.after(1_000, { now, minAttemptMs: 100 });
    const failure = await batchGet(input, { deadline }).catch((e) => e);
    expect(failure).toBeInstanceOf(DeadlineExceededError);
    // Backoffs 200 then 400 ms leave 400 ms; the next (800 ms) would leave none.
    expect(sentAt).toEqual([0, 200, 600]);
    expect(clock.ms).toBe(600); // it gave up at once, without sleeping the useless backoff
    expect(failure).toMatchObject({ attempts: 3 });
    expect(failure.message).toContain('ProvisionedThroughputExceededException');
  });

  it('sends nothing when the deadline has already passed', async () => {
    server = await startDynamoDbFaultServer(() => 'hang');
    const batchGet = signedBatchGet({
      region: 'eu-west-1',
      credentials,
      endpoint: server.endpoint,
    });
    await expect(batchGet(input, { deadline: Deadline.after(50) })).rejects.toThrow(
      DeadlineExceededError,
    );
    expect(server.requests).toHaveLength(0);
  });
});

describe('the AWS SDK client (local server) under a deadline', () => {
  it('aborts the SDK’s request and retries at the deadline', async () => {
    server = await startDynamoDbFaultServer(() => 'hang');
    const client = new DynamoDBClient({
      region: 'eu-west-1',
      endpoint: server.endpoint,
      credentials,
      maxAttempts: 5,
    });
    try {
      const started = performance.now();
      const failure = await sdkBatchGet(client)(input, { deadline: Deadline.after(400) }).catch(
        (e) => e,
      );
      expect(performance.now() - started).toBeLessThan(10_000);
      expect(failure).toBeInstanceOf(DeadlineExceededError);
      expect(server.requests).toHaveLength(1);
    } finally {
      client.destroy();
    }
  });
});

describe('a lookup under a deadline', () => {
  /**
   * A BatchGetItem that takes `callMs` of the fake clock and leaves every key unprocessed; with
   * `checksDeadline` it refuses to send past the deadline, as the real clients do.
   */
  function neverProcessing(
    callMs: number,
    clock: { ms: number },
    startedWithLeft: number[],
    checksDeadline = false,
  ) {
    const batchGet: BatchGetItems = async (request, call) => {
      if (checksDeadline && call?.deadline && !call.deadline.allowsAttemptAfter(0))
        throw noTimeForAnotherAttempt(call.deadline, 'a BatchGetItem attempt');
      startedWithLeft.push(call?.deadline?.timeLeftMs() ?? Number.NaN);
      call?.deadline?.countAttempts();
      clock.ms += callMs;
      return { Responses: { [table]: [] }, UnprocessedKeys: request.RequestItems, $metadata: {} };
    };
    return batchGet;
  }

  it('stops its unprocessed-keys rounds at the deadline with a typed error naming the attempts', async () => {
    const { now, sleep, clock } = fakeClock();
    const startedWithLeft: number[] = [];
    const deadline = Deadline.after(1_000, { now, minAttemptMs: 100 });
    const failure = await fetchLookup(
      neverProcessing(150, clock, startedWithLeft),
      table,
      registry,
      lookupRequest(1),
      { deadline, maxAttempts: 50, baseDelayMs: 100, random: () => 1, sleep, now: () => 0 },
    ).catch((e) => e);
    expect(failure).toBeInstanceOf(DeadlineExceededError);
    expect(failure.message).toMatch(/deadline leaves no time for round \d+ of the 2 key\(s\)/);
    // Rounds at 0, 250, 450 (150 ms each, backoff 100 then 200 ...): none starts with < 100 ms left.
    expect(startedWithLeft).toEqual([1_000, 750, 400]);
    expect(failure).toMatchObject({ attempts: 3 });
  });

  it('checks the deadline once a round, before its backoff, leaving the check before sending to the client', async () => {
    const { now, sleep, clock } = fakeClock();
    const startedWithLeft: number[] = [];
    const deadline = Deadline.after(1_000, { now, minAttemptMs: 100 });
    const checks: number[] = [];
    const allowsAttemptAfter = deadline.allowsAttemptAfter.bind(deadline);
    deadline.allowsAttemptAfter = (waitMs = 0) => {
      checks.push(waitMs);
      return allowsAttemptAfter(waitMs);
    };
    await fetchLookup(
      neverProcessing(150, clock, startedWithLeft),
      table,
      registry,
      lookupRequest(1),
      {
        deadline,
        maxAttempts: 50,
        baseDelayMs: 100,
        random: () => 1,
        sleep,
        now: () => 0,
      },
    ).catch(() => undefined);
    // Rounds 1-3 were sent (0, 100 and 200 ms of backoff before them); round 4's 400 ms did not fit.
    expect(startedWithLeft).toHaveLength(3);
    expect(checks).toEqual([0, 100, 200, 400]);
  });

  it('passes the deadline to every call of every chunk and never starts one after it', async () => {
    const { now, sleep, clock } = fakeClock();
    const startedWithLeft: number[] = [];
    const deadline = Deadline.after(2_000, { now, minAttemptMs: 100 });
    await expect(
      fetchLookup(
        neverProcessing(300, clock, startedWithLeft, true),
        table,
        registry,
        lookupRequest(150),
        {
          deadline,
          maxAttempts: 50,
          sleep,
          now: () => 0,
        },
      ),
    ).rejects.toThrow(DeadlineExceededError);
    expect(startedWithLeft.length).toBeGreaterThan(3);
    for (const left of startedWithLeft) expect(left).toBeGreaterThanOrEqual(100);
  });

  it('keeps the client’s deadline error as it is, not as an unavailable store', async () => {
    const batchGet: BatchGetItems = async () => {
      throw new DeadlineExceededError('out of time', 4);
    };
    await expect(
      fetchLookup(batchGet, table, registry, lookupRequest(1), { deadline: Deadline.after(5_000) }),
    ).rejects.toMatchObject({ name: 'DeadlineExceededError', attempts: 4 });
  });
});
