import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import { itemAttributes } from './item-codec.ts';

export { onlineTableName } from './online-table-name.ts';

/** A client for a local DynamoDB-API server (dummy credentials: the server does not check them). */
export function localDynamoClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 3,
  });
}

/** Whether the table exists on a local server; any error but "not found" is thrown. */
export async function localTableExists(client: DynamoDBClient, table: string): Promise<boolean> {
  try {
    await client.send(new DescribeTableCommand({ TableName: table }));
    return true;
  } catch (error) {
    if (
      !(error instanceof ResourceNotFoundException) &&
      (error as { name?: string }).name !== 'ResourceNotFoundException'
    )
      throw error;
    return false;
  }
}

/** Creates the online table on a local server when it does not exist yet (on AWS, CDK does). */
export async function ensureLocalTable(client: DynamoDBClient, table: string): Promise<void> {
  if (await localTableExists(client, table)) return;
  await client.send(
    new CreateTableCommand({
      TableName: table,
      KeySchema: [{ AttributeName: itemAttributes.key, KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: itemAttributes.key, AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  // A new table answers ResourceNotFound until it is ACTIVE, even on a local server.
  for (let attempt = 0; attempt < 100; attempt++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: table }));
    if (Table?.TableStatus === 'ACTIVE') return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`table ${table} did not become ACTIVE`);
}
