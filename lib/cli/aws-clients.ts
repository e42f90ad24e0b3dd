import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';

// The AWS SDK clients of commands that also run locally: each package loads when a command
// reaches an AWS environment, so a local run of the command does not pay for it.

export async function dynamoDbClient(region: string): Promise<DynamoDBClient> {
  const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
  return new DynamoDBClient({ region });
}

export async function s3Client(region: string): Promise<S3Client> {
  const { S3Client } = await import('@aws-sdk/client-s3');
  return new S3Client({ region });
}
