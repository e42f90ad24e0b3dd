import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { type DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { HintedError } from '../hinted-error.ts';
import { ensureLocalTable, localDynamoClient, onlineTableName } from '../online/online-table.ts';
import { onlineEndpointPath, onlineLockPath, onlineStoreDir } from './data-paths.ts';
import { startDynalite } from './dynalite-server.ts';
import { acquireProcessLock, LockedError } from './process-lock.ts';

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
  options: { attach?: boolean } = {},
): Promise<LocalOnlineStore> {
  const dir = onlineStoreDir(dataDir, env);
  await mkdir(dir, { recursive: true });
  // Two dynalite servers on one LevelDB folder crash the second process, so lock first.
  let lock: { release(): Promise<void> };
  try {
    lock = await acquireProcessLock(
      onlineLockPath(dataDir, env),
      `the local online store of env "${env}"`,
    );
  } catch (error) {
    const running =
      options.attach && error instanceof LockedError ? await attach(dataDir, env) : undefined;
    if (running) return running;
    throw error;
  }
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
  const endpointFile = onlineEndpointPath(dataDir, env);
  try {
    await ensureLocalTable(client, table);
    await writeFile(endpointFile, dynamo.endpoint);
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
      await rm(endpointFile, { force: true });
      await lock.release();
    },
  };
}

/**
 * The online store of a running `fstore start`/`serve`, reached through the endpoint it
 * published, so `materialize`, `get` and `status` work beside it.
 */
async function attach(dataDir: string, env: string): Promise<LocalOnlineStore | undefined> {
  const endpoint = (
    await readFile(onlineEndpointPath(dataDir, env), 'utf8').catch(() => '')
  ).trim();
  if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(endpoint)) return undefined;
  const client = localDynamoClient(endpoint);
  try {
    await client.send(new ListTablesCommand({ Limit: 1 }));
  } catch {
    client.destroy();
    return undefined;
  }
  return {
    client,
    table: onlineTableName(env),
    endpoint,
    async close() {
      client.destroy();
    },
  };
}
