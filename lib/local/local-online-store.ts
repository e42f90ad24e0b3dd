import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import {
  type DynamoDBClient,
  GetItemCommand,
  ListTablesCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { envDataDir, onlineEndpointPath, onlineLockPath, onlineStoreDir } from '../data-paths.ts';
import { HintedError } from '../hinted-error.ts';
import { stateKey } from '../materialize/materialization-state.ts';
import { itemAttributes } from '../online/item-codec.ts';
import {
  ensureLocalTable,
  localDynamoClient,
  localTableExists,
  onlineTableName,
} from '../online/online-table.ts';
import { acquireProcessLock, LockedError } from '../process-lock.ts';
import { type LocalDynamo, startDynalite, storageErrorMarker } from './dynalite-server.ts';
import {
  inspectOnlineFolder,
  levelReason,
  materializedViews,
  OnlineStoreDamagedError,
  onlineStoreDamaged,
  probeLevelOpen,
  readWatermarkRecord,
  recordWatermark,
  type WatermarkRecord,
} from './online-store-damage.ts';

export interface LocalOnlineStore {
  readonly client: DynamoDBClient;
  readonly table: string;
  readonly endpoint: string;
  /**
   * False once the store met a LevelDB read or write error (it is damaged and needs a
   * rebuild); `/v1/health` answers 503 from then on. Always true for an attached store.
   */
  healthy(): boolean;
  close(): Promise<void>;
}

/**
 * The local online store of an environment: dynalite in this process, data in LevelDB files
 * under `.fstore/<env>/online/`, spoken to with the same DynamoDB client code as on AWS.
 * One process at a time holds it (LevelDB's lock).
 *
 * A damaged store (missing or corrupt files, a lost CURRENT, a folder that vanished while
 * watermarks say views were materialized) fails with one OnlineStoreDamagedError naming the
 * folder and the rebuild (`fstore reset --online`, then `fstore materialize`); it is never
 * silently started empty. Read errors later on reach clients as the same error.
 */
export async function openLocalOnlineStore(
  dataDir: string,
  env: string,
  options: { attach?: boolean } = {},
): Promise<LocalOnlineStore> {
  const dir = onlineStoreDir(dataDir, env);
  await mkdir(envDataDir(dataDir, env), { recursive: true });
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
  let dynamo: LocalDynamo;
  let recorded: WatermarkRecord;
  try {
    recorded = await readWatermarkRecord(dataDir, env);
    const folder = await inspectOnlineFolder(dir);
    if (folder.state === 'damaged') throw onlineStoreDamaged(dataDir, env, folder.problem);
    if (folder.state === 'absent' && Object.keys(recorded).length > 0)
      throw onlineStoreDamaged(dataDir, env, `is missing, but ${materializedViews(recorded)}`);
    await mkdir(dir, { recursive: true });
    await probeLevelOpen(dir, folder.state === 'absent').catch((error: unknown) => {
      throw onlineStoreDamaged(dataDir, env, `is damaged: ${levelReason(error)}`, error);
    });
    dynamo = await startDynalite({ path: dir }).catch((error: unknown) => {
      throw new HintedError(
        `the local online store in ${dir} could not start: ${(error as Error).message}`,
        'run with --verbose for details',
        { cause: error },
      );
    });
  } catch (error) {
    await lock.release();
    throw error;
  }
  const client = guardedClient(localDynamoClient(dynamo.endpoint), dataDir, env);
  const table = onlineTableName(env);
  const endpointFile = onlineEndpointPath(dataDir, env);
  try {
    await expectRecordedWatermarks(client, table, recorded, dataDir, env);
    await ensureLocalTable(client, table);
    await writeFile(endpointFile, dynamo.endpoint);
  } catch (error) {
    client.destroy();
    await dynamo.close();
    await lock.release();
    if (error instanceof HintedError) throw error;
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
    healthy: () => dynamo.storageError() === undefined,
    async close() {
      client.destroy();
      await dynamo.close();
      await rm(endpointFile, { force: true });
      await lock.release();
    },
  };
}

/**
 * A store whose watermarks were recorded must still hold its table and at least one of those
 * watermarks; otherwise it was emptied (replaced by a fresh folder) and serving it would
 * answer NOT_FOUND for everything.
 */
async function expectRecordedWatermarks(
  client: DynamoDBClient,
  table: string,
  recorded: WatermarkRecord,
  dataDir: string,
  env: string,
): Promise<void> {
  const prefixes = Object.keys(recorded);
  if (prefixes.length === 0) return;
  const empty = () =>
    onlineStoreDamaged(dataDir, env, `is empty, but ${materializedViews(recorded)}`);
  if (!(await localTableExists(client, table))) throw empty();
  for (const prefix of prefixes) {
    const { Item } = await client.send(
      new GetItemCommand({
        TableName: table,
        Key: { [itemAttributes.key]: { S: stateKey(prefix) } },
        ProjectionExpression: '#pk',
        ExpressionAttributeNames: { '#pk': itemAttributes.key },
      }),
    );
    if (Item) return;
  }
  throw empty();
}

/**
 * The client of a local store, with two additions: a storage error the server reports
 * becomes OnlineStoreDamagedError (with the rebuild hint), and a materialization that moves a
 * watermark is recorded outside the store (online-store-damage.ts) so a vanished store is
 * noticed.
 */
function guardedClient(client: DynamoDBClient, dataDir: string, env: string): DynamoDBClient {
  const statePrefix = stateKey('');
  client.middlewareStack.add(
    (next, context) => async (args) => {
      let result: Awaited<ReturnType<typeof next>>;
      try {
        result = await next(args);
      } catch (error) {
        throw classifyStoreError(error, dataDir, env);
      }
      if (context.commandName === 'UpdateItemCommand') {
        const input = args.input as UpdateItemCommandInput;
        const key = input.Key?.[itemAttributes.key]?.S;
        const watermark = key?.startsWith(statePrefix) ? watermarkSet(input) : undefined;
        if (key && watermark)
          await recordWatermark(dataDir, env, key.slice(statePrefix.length), watermark);
      }
      return result;
    },
    { step: 'initialize', name: 'fstoreLocalOnlineStore' },
  );
  return client;
}

/** The watermark an update of a materialization state item sets, if it sets one. */
function watermarkSet(input: UpdateItemCommandInput): string | undefined {
  const alias = Object.entries(input.ExpressionAttributeNames ?? {}).find(
    ([, name]) => name === 'watermark',
  )?.[0];
  if (!alias || !input.UpdateExpression) return undefined;
  const value = new RegExp(`${alias}\\s*=\\s*(:\\w+)`).exec(input.UpdateExpression)?.[1];
  return value ? input.ExpressionAttributeValues?.[value]?.S : undefined;
}

/** A LevelDB error dynalite reported (see storageErrorMarker) as the one clear message. */
export function classifyStoreError(error: unknown, dataDir: string, env: string): unknown {
  if (error instanceof OnlineStoreDamagedError || !(error instanceof Error)) return error;
  if (!error.message.startsWith(storageErrorMarker)) return error;
  const reason = error.message.slice(storageErrorMarker.length).trim();
  return onlineStoreDamaged(dataDir, env, `is damaged: ${reason}`, error);
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
  const client = guardedClient(localDynamoClient(endpoint), dataDir, env);
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
    healthy: () => true,
    async close() {
      client.destroy();
    },
  };
}
