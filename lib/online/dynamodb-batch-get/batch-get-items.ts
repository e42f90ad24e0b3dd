import type { BatchGetItemInput, BatchGetItemOutput } from '@aws-sdk/client-dynamodb';

/**
 * One DynamoDB BatchGetItem call: what the online lookup needs of a DynamoDB client. The lookup
 * Lambda gives it `signedBatchGet` (no AWS SDK at run time, for cold start); the local server,
 * the CLI and tests give it `sdkBatchGet` of an AWS SDK client. The types come from the SDK and
 * cost nothing at run time.
 */
export type BatchGetItems = (input: BatchGetItemInput) => Promise<BatchGetItemOutput>;

export type { BatchGetItemInput, BatchGetItemOutput };
