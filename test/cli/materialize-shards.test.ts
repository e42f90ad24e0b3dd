import { cp } from 'node:fs/promises';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { openLocalOnlineStore } from '../../lib/local/local-online-store.ts';
import { makeTempDir, runFstore } from '../helpers/run-fstore.ts';

// fstore materialize --shards N against the local DynamoDB-API server, killed with SIGKILL
// (FSTORE_FAULT, lib/fault-injection.ts) when the first shard is done.
const env = 'local';
const view = 'customer_profile';
let prepared: string;

async function freshDataDir(): Promise<string> {
  const dir = await makeTempDir('shards');
  await cp(prepared, dir, { recursive: true });
  return dir;
}

const fstore = (dataDir: string, args: string[], extraEnv: Record<string, string> = {}) =>
  runFstore(['--data-dir', dataDir, ...args], { env: extraEnv });

type Item = Record<string, { S?: string; N?: string }>;

async function scan(dataDir: string): Promise<Item[]> {
  const store = await openLocalOnlineStore(dataDir, env);
  try {
    const items: Item[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await store.client.send(
        new ScanCommand({
          TableName: store.table,
          ...(start ? { ExclusiveStartKey: start as never } : {}),
        }),
      );
      items.push(...((page.Items ?? []) as Item[]));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  } finally {
    await store.close();
  }
}

/** The online items of the view, without the attributes that record when they were written. */
const itemsOf = (items: Item[]) =>
  items
    .filter((item) => !item.pk?.S?.startsWith('~') && item.pk?.S?.startsWith(`${view}#`))
    .map(({ materialized_at: _m, expires_at: _x, ...rest }) => JSON.stringify(rest))
    .sort();

const stateOf = (items: Item[]) =>
  items.find((item) => item.pk?.S?.startsWith(`~fstore#materialization#${view}#`)) ?? {};

/** Which shards a sharded run's state item records as done, by shard. */
const doneShards = (state: Item) =>
  Object.entries(state)
    .filter(([name]) => /^shard_\d+$/.test(name))
    .map(([name, value]) => [Number(name.slice(6)), JSON.parse(value.S ?? '{}').done] as const)
    .sort((a, b) => a[0] - b[0]);

describe('fstore materialize --shards', () => {
  beforeAll(async () => {
    prepared = await makeTempDir('shards-prepared');
    const start = await runFstore(['--data-dir', prepared, 'start', '--no-serve']);
    expect(start.code, start.stderr).toBe(0);
  }, 180_000);

  it.each([
    ['0', 'must be at least 1'],
    ['-3', 'must be at least 1'],
    ['two', 'must be a whole number of shards, got "two"'],
    ['65', 'must be at most 64'],
  ])(
    'refuses --shards %s with a clear error and writes nothing',
    async (value, message) => {
      const result = await fstore(prepared, ['materialize', '--shards', value]);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain(`--shards ${message}`);
      expect(itemsOf(await scan(prepared))).toEqual([]);
    },
    120_000,
  );

  it('killed when its first shard is done, keeps the watermark; the rerun writes only the unfinished shards and ends with the items of one writer', async () => {
    const [dataDir, clean] = await Promise.all([freshDataDir(), freshDataDir()]);
    const killed = await fstore(
      dataDir,
      ['materialize', '--view', view, '--shards', '4', '--chunk-rows', '10'],
      { FSTORE_FAULT: 'materialize:shard-done' },
    );
    expect(killed.code, killed.stderr).toBeNull();
    const left = stateOf(await scan(dataDir));
    expect(left.watermark).toBeUndefined();
    expect(JSON.parse(left.checkpoint?.S ?? '{}').shards).toBe(4);
    const shards = doneShards(left);
    const done = shards.filter(([, d]) => d).map(([s]) => s);
    expect(done.length).toBeGreaterThan(0);
    expect(done.length).toBeLessThan(4);

    const rerun = await fstore(dataDir, ['materialize', '--view', view, '--json']);
    expect(rerun.code, rerun.stderr).toBe(0);
    const [result] = JSON.parse(rerun.stdout);
    expect(result).toMatchObject({ status: 'succeeded', resumed: true });
    expect(result.shards.count).toBe(4);
    expect(result.shards.alreadyDone).toEqual(done);
    expect(result.shards.ran).toEqual([0, 1, 2, 3].filter((s) => !done.includes(s)));
    const finished = await scan(dataDir);
    expect(stateOf(finished).watermark?.S).toBe(result.watermark);
    expect(doneShards(stateOf(finished))).toEqual([]);

    const single = await fstore(clean, ['materialize', '--view', view]);
    expect(single.code, single.stderr).toBe(0);
    const items = itemsOf(finished);
    expect(items.length).toBeGreaterThan(100);
    expect(items).toEqual(itemsOf(await scan(clean)));
  }, 240_000);
});
