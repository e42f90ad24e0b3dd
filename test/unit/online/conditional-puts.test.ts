import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  ProvisionedThroughputExceededException,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { sendConditionalPuts, WriteThrottledError } from '../../../lib/online/conditional-puts.ts';

const dynamo = mockClient(DynamoDBClient);
const client = new DynamoDBClient({ region: 'eu-west-1' });
const put = (id: string) => new PutItemCommand({ TableName: 't', Item: { pk: { S: id } } });
const throttle = () =>
  new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} });
const noSleep = async () => {};

describe('conditional puts with throttling retries', () => {
  beforeEach(() => dynamo.reset());

  it('retries throttled writes with backoff until they succeed', async () => {
    const delays: number[] = [];
    dynamo
      .on(PutItemCommand, { Item: { pk: { S: 'a' } } })
      .rejectsOnce(throttle())
      .rejectsOnce(throttle())
      .resolves({});
    dynamo.on(PutItemCommand, { Item: { pk: { S: 'b' } } }).resolves({});
    const result = await sendConditionalPuts(client, [put('a'), put('b')], {
      concurrency: 2,
      sleep: async (ms) => {
        delays.push(ms);
      },
      random: () => 1,
    });
    expect(result).toEqual({ written: 2, skippedAsOlder: 0, throttled: 2 });
    expect(delays).toEqual([50, 100]);
  });

  it('counts a failed condition as skipped (the item holds a newer row), not as an error', async () => {
    dynamo
      .on(PutItemCommand)
      .rejects(new ConditionalCheckFailedException({ message: 'newer', $metadata: {} }));
    const result = await sendConditionalPuts(client, [put('a'), put('b'), put('c')], {
      concurrency: 2,
    });
    expect(result).toEqual({ written: 0, skippedAsOlder: 3, throttled: 0 });
  });

  it('gives up with a clear error when throttling does not stop', async () => {
    dynamo.on(PutItemCommand).rejects(throttle());
    const failing = sendConditionalPuts(client, [put('a')], {
      concurrency: 1,
      maxAttempts: 3,
      sleep: noSleep,
    });
    await expect(failing).rejects.toThrow(WriteThrottledError);
    await expect(failing).rejects.toThrow('after 3 attempts');
    expect(dynamo.commandCalls(PutItemCommand)).toHaveLength(3);
  });

  it('stops at the first error that is not throttling and sends nothing more', async () => {
    dynamo.on(PutItemCommand).rejects(new Error('AccessDenied'));
    await expect(
      sendConditionalPuts(client, [put('a'), put('b'), put('c'), put('d')], {
        concurrency: 1,
        sleep: noSleep,
      }),
    ).rejects.toThrow('AccessDenied');
    expect(dynamo.commandCalls(PutItemCommand)).toHaveLength(1);
  });

  it('keeps at most `concurrency` writes in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    dynamo.on(PutItemCommand).callsFake(async () => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 1));
      inFlight -= 1;
      return {};
    });
    const commands = Array.from({ length: 40 }, (_, i) => put(String(i)));
    const result = await sendConditionalPuts(client, commands, { concurrency: 4 });
    expect(result.written).toBe(40);
    expect(peak).toBe(4);
  });
});
