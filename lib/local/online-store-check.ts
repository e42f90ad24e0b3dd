import { cp, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type AttributeValue, ScanCommand } from '@aws-sdk/client-dynamodb';
import {
  envDataDir,
  isLocalEnv,
  onlineEndpointPath,
  onlineLockPath,
  onlineStoreDir,
} from '../data-paths.ts';
import { stateKey } from '../materialize/materialization-state.ts';
import { itemAttributes } from '../online/item-codec.ts';
import { localDynamoClient, onlineTableName } from '../online/online-table.ts';
import { acquireProcessLock, LockedError } from '../process-lock.ts';
import { classifyStoreError } from './local-online-store.ts';
import {
  inspectOnlineFolder,
  levelDatabase,
  levelReason,
  materializedViews,
  OnlineStoreDamagedError,
  onlineStoreDamaged,
  readWatermarkRecord,
  rebuildCommands,
} from './online-store-damage.ts';

/**
 * `fstore doctor`'s check of a local online store, without changing it: CURRENT names an
 * existing MANIFEST, LevelDB opens the folder, and a full scan reads every entry without error;
 * the store must hold its table and watermarks when watermarks were recorded. The check runs
 * on a copy (LevelDB writes while it opens); while a running start/serve holds the store, it
 * scans the table through that server's endpoint instead. Resolves with a summary; throws
 * OnlineStoreDamagedError (message and rebuild hint) when the store is damaged.
 *
 * LevelDB only notices corruption it cannot decode (classic-level does not verify block
 * checksums on reads), so bytes garbled inside a compressed block can pass unnoticed.
 */
export async function checkOnlineStore(dataDir: string, env: string): Promise<string> {
  if (!isLocalEnv(env)) return `skipped: env "${env}" is on AWS`;
  const dir = onlineStoreDir(dataDir, env);
  if (!(await stat(envDataDir(dataDir, env)).catch(() => undefined)))
    return `no online store yet in ${dir} (the first start or materialize creates it)`;
  let held: { release(): Promise<void> };
  try {
    held = await acquireProcessLock(onlineLockPath(dataDir, env), 'the local online store');
  } catch (error) {
    if (error instanceof LockedError) return checkThroughServer(dataDir, env, error);
    throw error;
  }
  // Released as soon as the copy is taken; never twice (another process may hold it by then).
  let released = false;
  const lock = {
    async release() {
      if (!released) await held.release();
      released = true;
    },
  };
  const copy = await mkdtemp(path.join(tmpdir(), 'fstore-doctor-online-'));
  try {
    const recorded = await readWatermarkRecord(dataDir, env);
    const folder = await inspectOnlineFolder(dir);
    if (folder.state === 'damaged') throw onlineStoreDamaged(dataDir, env, folder.problem);
    if (folder.state === 'absent') {
      if (Object.keys(recorded).length > 0)
        throw onlineStoreDamaged(dataDir, env, `is missing, but ${materializedViews(recorded)}`);
      return `no online store yet in ${dir} (the first start or materialize creates it)`;
    }
    await cp(dir, copy, { recursive: true, filter: (file) => path.basename(file) !== 'LOCK' });
    await lock.release();
    const scan = await scanLevelDb(copy, onlineTableName(env)).catch((error: unknown) => {
      throw onlineStoreDamaged(dataDir, env, `is damaged: ${levelReason(error)}`, error);
    });
    if (Object.keys(recorded).length > 0 && (!scan.table || scan.watermarks === 0))
      throw onlineStoreDamaged(dataDir, env, `is empty, but ${materializedViews(recorded)}`);
    const current = (await readFile(path.join(dir, 'CURRENT'), 'utf8')).trim();
    return `${dir}: CURRENT → ${current}, LevelDB opens, full scan read ${scan.items} item(s) without error, ${scan.watermarks} view(s) materialized`;
  } finally {
    await lock.release();
    await rm(copy, { recursive: true, force: true });
  }
}

/** Reads every entry of the LevelDB folder; counts dynalite's items of the table and state items. */
async function scanLevelDb(
  dir: string,
  table: string,
): Promise<{ table: boolean; items: number; watermarks: number }> {
  const db = levelDatabase(dir, { createIfMissing: false });
  await db.open();
  const itemPrefix = `item-${table}~`;
  const statePrefix = stateKey('');
  let items = 0;
  let watermarks = 0;
  try {
    const hasTable = (await db.get(`table~${table}`)) !== undefined;
    for await (const [key, value] of db.iterator({ fillCache: false })) {
      if (!key.startsWith(itemPrefix)) continue;
      items += 1;
      const item = JSON.parse(value) as Record<string, AttributeValue>;
      const pk = item[itemAttributes.key]?.S ?? '';
      if (pk.startsWith(statePrefix) && item.watermark?.S) watermarks += 1;
    }
    return { table: hasTable, items, watermarks };
  } finally {
    await db.close();
  }
}

/** While a server holds the store: a full Scan through its endpoint, or a skip with the reason. */
async function checkThroughServer(
  dataDir: string,
  env: string,
  locked: LockedError,
): Promise<string> {
  const endpoint = (
    await readFile(onlineEndpointPath(dataDir, env), 'utf8').catch(() => '')
  ).trim();
  if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(endpoint))
    return `skipped: ${locked.message}, which publishes no endpoint to check through`;
  const client = localDynamoClient(endpoint);
  const table = onlineTableName(env);
  let items = 0;
  try {
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await client.send(
        new ScanCommand({
          TableName: table,
          ...(start ? { ExclusiveStartKey: start } : {}),
          ProjectionExpression: '#pk',
          ExpressionAttributeNames: { '#pk': itemAttributes.key },
        }),
      );
      items += page.Count ?? 0;
      start = page.LastEvaluatedKey;
    } while (start);
  } catch (error) {
    const classified = classifyStoreError(error, dataDir, env);
    if (classified instanceof OnlineStoreDamagedError)
      throw new OnlineStoreDamagedError(
        `${classified.message} (checked through the running server at ${endpoint})`,
        classified.hint,
        { cause: error },
      );
    if ((error as { $metadata?: unknown }).$metadata === undefined)
      return `skipped: ${locked.message}, whose endpoint ${endpoint} does not answer`;
    throw error;
  } finally {
    client.destroy();
  }
  return `checked through the running server (${endpoint}): full scan read ${items} item(s) without error`;
}

/** What to do about a failed online store check. */
export function onlineStoreFix(dataDir: string, env: string): string {
  return `the offline store is the source of truth: ${rebuildCommands(dataDir, env)}`;
}

/** The online store as one of `fstore doctor`'s checks. */
export function onlineStoreDoctorCheck(dataDir: string, env: string) {
  return {
    name: 'online store',
    required: true,
    fix: onlineStoreFix(dataDir, env),
    run: () => checkOnlineStore(dataDir, env),
  };
}
