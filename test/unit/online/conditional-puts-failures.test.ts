import {
  DynamoDBClient,
  ProvisionedThroughputExceededException,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { sendConditionalPuts, WriteThrottledError } from '../../../lib/online/conditional-puts.ts';

const dynamo = mockClient(DynamoDBClient);
const client = new DynamoDBClient({ region: 'eu-west-1' });
const puts = (n: number) =>
  Array.from(
    { length: n },
    (_, i) => new PutItemCommand({ TableName: 't', Item: { pk: { S: `k${i}` } } }),
  );
const noSleep = async () => {};
const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

describe('conditional puts that fail, with several writers', () => {
  beforeEach(() => dynamo.reset());

  it('stops every writer once one meets an error that is not throttling', async () => {
    let calls = 0;
    dynamo.on(PutItemCommand).callsFake(async () => {
      calls += 1;
      if (calls === 1) throw new Error('AccessDenied');
      await tick();
      return {};
    });
    await expect(
      sendConditionalPuts(client, puts(20), { concurrency: 2, sleep: noSleep }),
    ).rejects.toThrow('AccessDenied');
    await tick();
    // The other writer finishes the write it had in flight and takes no new one.
    expect(calls).toBe(2);
  });

  it('stops every writer once one gives up on throttling', async () => {
    const sent: string[] = [];
    dynamo.on(PutItemCommand).callsFake(async (input: { Item: { pk: { S: string } } }) => {
      sent.push(input.Item.pk.S);
      if (input.Item.pk.S === 'k0')
        throw new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} });
      await tick();
      return {};
    });
    await expect(
      sendConditionalPuts(client, puts(20), { concurrency: 2, maxAttempts: 2, sleep: noSleep }),
    ).rejects.toThrow(WriteThrottledError);
    await tick();
    // k0 twice (the attempts), and the one write the other writer had in flight.
    expect(sent).toEqual(['k0', 'k1', 'k0']);
  });

  it('says what to do about persistent throttling and keeps DynamoDB error as the cause', async () => {
    const throttle = new ProvisionedThroughputExceededException({
      message: 'slow down',
      $metadata: {},
    });
    dynamo.on(PutItemCommand).rejects(throttle);
    const error = await sendConditionalPuts(client, puts(1), {
      concurrency: 1,
      maxAttempts: 2,
      sleep: noSleep,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WriteThrottledError);
    expect((error as WriteThrottledError).hint).toBe(
      'lower the materialization concurrency or raise the table capacity',
    );
    expect((error as WriteThrottledError).cause).toBe(throttle);
  });
});
