import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { sdkBatchGet } from '../../lib/online/dynamodb-batch-get/sdk-batch-get.ts';
import { readLookupConfig } from './config.ts';
import { type BatchGetLookupDependencies, createBatchGetLookupHandler } from './lookup-handler.ts';

export type { HttpApiEvent } from './lookup-handler.ts';

/**
 * A Lambda context for running the handler outside Lambda (the local server, benchmarks) that
 * gives every invocation `remainingMs`, as a function with that timeout would have at its
 * start: a lookup's deadline is that less the configured margin. Without `awsRequestId`, each
 * invocation takes its request's id (the local server's UUID) or a new UUID.
 */
export const localLambdaContextWithin = (remainingMs: number, awsRequestId?: string) =>
  ({
    functionName: 'online-lookup-local',
    functionVersion: '$LATEST',
    ...(awsRequestId === undefined ? {} : { awsRequestId }),
    memoryLimitInMB: '512',
    invokedFunctionArn: 'arn:aws:lambda:local:000000000000:function:online-lookup-local',
    getRemainingTimeInMillis: () => remainingMs,
  }) as never;

/** The local context of a function with the deployed 10 s timeout. */
export const localLambdaContext = localLambdaContextWithin(10_000);

export interface LookupHandlerDependencies extends Omit<BatchGetLookupDependencies, 'batchGet'> {
  readonly client: DynamoDBClient;
}

/**
 * The lookup handler on an AWS SDK DynamoDB client: the local server, tests and benchmarks.
 * The Lambda (index.ts) builds the same handler on its own signed BatchGetItem client
 * (createBatchGetLookupHandler), so its bundle carries no SDK client.
 */
export function createLookupHandler(deps: LookupHandlerDependencies) {
  const { client, ...rest } = deps;
  return createBatchGetLookupHandler({ ...rest, batchGet: sdkBatchGet(client) });
}

export { readLookupConfig };
