import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createLookupHandler, readLookupConfig } from '../lambdas/online-lookup/handler.ts';
import { sdkLoggerWithoutInfo } from '../lib/online/sdk-logger.ts';
import type { RuntimeRegistry } from '../lib/registry/runtime-projection.ts';

/**
 * The lookup Lambda's entry as it was before it had its own BatchGetItem client: the same
 * handler on the AWS SDK's DynamoDB client. bench:online bundles it beside the deployed entry
 * (lambdas/online-lookup/index.ts) to measure what the SDK client costs a cold start.
 */
declare const FSTORE_REGISTRY: RuntimeRegistry;

export const handler = createLookupHandler({
  registry: FSTORE_REGISTRY,
  client: new DynamoDBClient({ logger: sdkLoggerWithoutInfo }),
  config: readLookupConfig(process.env),
});
