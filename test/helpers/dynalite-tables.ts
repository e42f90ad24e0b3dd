import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll } from 'vitest';
import { type LocalDynamo, startDynalite } from '../../lib/local/dynalite-server.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';

/**
 * An embedded dynalite server started before the file's tests and closed after them, with a
 * client of it (read inside tests and hooks). newTable() creates an empty online table
 * `<prefix>-t<n>`, a new one each call, so that tests do not see each other's items.
 */
export function useDynaliteTables(prefix: string) {
  let dynamo: LocalDynamo;
  let client: DynamoDBClient;
  let tables = 0;
  beforeAll(async () => {
    dynamo = await startDynalite();
    client = localDynamoClient(dynamo.endpoint);
  });
  afterAll(async () => {
    client.destroy();
    await dynamo.close();
  });
  return {
    get client() {
      return client;
    },
    async newTable(): Promise<string> {
      const table = `${prefix}-t${tables++}`;
      await ensureLocalTable(client, table);
      return table;
    },
  };
}
