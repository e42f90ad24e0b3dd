import type { BatchGetItemInput, BatchGetItemOutput } from '@aws-sdk/client-dynamodb';
import type { Deadline } from './deadline.ts';

/** What one BatchGetItem call is given besides its input. */
export interface BatchGetCall {
  /**
   * When the lookup must have answered: no attempt is sent once too little time is left, no
   * attempt waits past it, and the call then fails with a DeadlineExceededError.
   */
  readonly deadline?: Deadline;
}

/**
 * One DynamoDB BatchGetItem call: what the online lookup needs of a DynamoDB client. The lookup
 * Lambda gives it `signedBatchGet` (no AWS SDK at run time, for cold start); the local server,
 * the CLI and tests give it `sdkBatchGet` of an AWS SDK client. The types come from the SDK and
 * cost nothing at run time.
 */
export type BatchGetItems = (
  input: BatchGetItemInput,
  call?: BatchGetCall,
) => Promise<BatchGetItemOutput>;

export type { BatchGetItemInput, BatchGetItemOutput };
