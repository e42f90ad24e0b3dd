import { mkdir } from 'node:fs/promises';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { HintedError } from '../hinted-error.ts';
import { ensureLocalTable, localDynamoClient, onlineTableName } from '../online/online-table.ts';
import { onlineLockPath, onlineStoreDir } from './data-paths.ts';
import { startDynalite } from './dynalite-server.ts';
import { acquireProcessLock } from './process-lock.ts';

export interface LocalOnlineStore {
  readonly client: DynamoDBClient;
  readonly table: string;
  readonly endpoint: string;
  close(): Promise<void>;
}

/**
 * The local online store of an environment: dynalite in this process, data in LevelDB files
 * under `.fstore/<env>/online/`, spoken to with the same DynamoDB client code as on AWS.
 * One process at a time holds it (LevelDB's lock).
 */
export async function openLocalOnlineStore(
  dataDir: string,
  env: string,
): Promise<LocalOnlineStore> {
  const dir = onlineStoreDir(dataDir, env);
  await mkdir(dir, { recursive: true });
  // Two dynalite servers on one LevelDB folder crash the second process, so lock first.
  const lock = await acquireProcessLock(
    onlineLockPath(dataDir, env),
    `the local online store of env "${env}"`,
  );
  let dynamo: Awaited<ReturnType<typeof startDynalite>>;
  try {
    dynamo = await startDynalite({ path: dir });
  } catch (error) {
    await lock.release();
    throw new HintedError(
      `the local online store in ${dir} could not start: ${(error as Error).message}`,
      'run with --verbose for details',
      { cause: error },
    );
  }
  const client = localDynamoClient(dynamo.endpoint);
  const table = onlineTableName(env);
  try {
    await ensureLocalTable(client, table);
  } catch (error) {
    client.destroy();
    await dynamo.close();
    await lock.release();
    throw new HintedError(
      `the local online store failed: ${(error as Error).message}`,
      'run with --verbose for details',
      { cause: error },
    );
  }
  return {
    client,
    table,
    endpoint: dynamo.endpoint,
    async close() {
      client.destroy();
      await dynamo.close();
      await lock.release();
    },
  };
}
