import { DeleteItemCommand, type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import type { AwsClientStub } from 'aws-sdk-client-mock';

/** Resets the DynamoDB mock to an online table holding no item: scans find none, deletes succeed. */
export function answerAsEmptyOnlineTable(dynamodb: AwsClientStub<DynamoDBClient>): void {
  dynamodb.reset();
  dynamodb.on(ScanCommand).resolves({ Items: [] });
  dynamodb.on(DeleteItemCommand).resolves({});
}
