import { BatchGetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { BatchGetItems } from './batch-get-items.ts';
import { noTimeForAnotherAttempt } from './deadline.ts';

/**
 * BatchGetItem through an AWS SDK client (its retries, its endpoint, its credentials chain).
 * A call's deadline aborts the SDK's request and retries when it passes.
 */
export function sdkBatchGet(client: DynamoDBClient): BatchGetItems {
  return async (input, { deadline } = {}) => {
    if (!deadline) return client.send(new BatchGetItemCommand(input));
    if (!deadline.allowsAttemptAfter(0))
      throw noTimeForAnotherAttempt(deadline, 'a BatchGetItem call');
    const abortSignal = AbortSignal.timeout(Math.floor(deadline.timeLeftMs()));
    try {
      const output = await client.send(new BatchGetItemCommand(input), { abortSignal });
      deadline.countAttempts(output.$metadata.attempts ?? 1);
      return output;
    } catch (error) {
      deadline.countAttempts(
        (error as { $metadata?: { attempts?: number } }).$metadata?.attempts ?? 1,
      );
      if (abortSignal.aborted) throw noTimeForAnotherAttempt(deadline, 'the SDK to answer', error);
      throw error;
    }
  };
}
