import { BatchGetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { BatchGetItems } from './batch-get-items.ts';

/** BatchGetItem through an AWS SDK client (its retries, its endpoint, its credentials chain). */
export function sdkBatchGet(client: DynamoDBClient): BatchGetItems {
  return (input) => client.send(new BatchGetItemCommand(input));
}
