import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../lib/definitions/index.ts';
import { eraseEntities } from '../../lib/erasure/erase-entities.ts';
import { parseErasureKeys } from '../../lib/erasure/erasure-keys.ts';
import { startDynalite } from '../../lib/local/dynalite-server.ts';
import { openLocalOnlineStore } from '../../lib/local/local-online-store.ts';
import { materializeLocal } from '../../lib/local/materialize-local.ts';
import {
  type LastRun,
  MaterializationStateStore,
} from '../../lib/materialize/materialization-state.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';
import { repoRoot } from '../helpers/run-fstore.ts';

const execFileAsync = promisify(execFile);

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const orders = defineSource({
  name: 'orders',
  schema: { customer_id: 'string', amount: 'float64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const latest = defineFeatureView({
  name: 'latest_order',
  entities: [customer],
  source: orders,
  features: { amount: 'float64' },
  online: true,
  schedule: 'rate(1 hour)',
});
const m = Date.parse('2026-03-10T00:00:00Z');
const row = (customer_id: string, amount: number) => ({
  customer_id,
  amount,
  event_ts: new Date(m - 86_400_000).toISOString(),
});
const run: LastRun = {
  runId: 'run-1',
  status: 'succeeded',
  startedAt: '2026-03-10T00:00:00.000Z',
  finishedAt: '2026-03-10T00:01:00.000Z',
  window: { until: '2026-03-10T00:00:00.000000Z' },
  counts: { rowsRead: 2, written: 2, skippedAsOlder: 0, rejected: 0 },
  durationMs: 60_000,
};

describe('a local fstore delete and a running materialization', () => {
  let server: Awaited<ReturnType<typeof startDynalite>>;
  let client: ReturnType<typeof localDynamoClient>;
  beforeAll(async () => {
    server = await startDynalite();
    client = localDynamoClient(server.endpoint);
  });
  afterAll(async () => {
    client.destroy();
    await server.close();
  });

  it('the online store’s lock does not keep materialization out: another process attaches to the store the delete holds, as fstore materialize does', async () => {
    const fixture = await offlineFixture([customer, orders, latest]);
    // As fstore delete opens it (not attaching); then another process, as fstore materialize.
    const held = await openLocalOnlineStore(fixture.dataDir, 'local');
    try {
      const store = path.join(repoRoot, 'lib', 'local', 'local-online-store.ts');
      const code = `const m = await import(${JSON.stringify(store)}); const s = await m.openLocalOnlineStore(${JSON.stringify(fixture.dataDir)}, 'local', { attach: true }); process.stdout.write(s.endpoint); await s.close();`;
      const { stdout } = await execFileAsync(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', code],
        {
          cwd: repoRoot,
        },
      );
      expect(stdout).toBe(held.endpoint);
    } finally {
      await held.close();
    }
  });

  it('waits for a materialization holding a view’s lease, then deletes the item it wrote back after the offline rows went', async () => {
    const fixture = await offlineFixture([customer, orders, latest]);
    await fixture.ingest('orders', [row('C1', 10), row('C2', 20)]);
    const table = 'fstore-local-materialization-race';
    await ensureLocalTable(client, table);
    await materializeLocal({
      registry: fixture.registry,
      dataDir: fixture.dataDir,
      env: 'local',
      client,
      table,
      now: () => m,
    });
    const view = fixture.registry.featureViews.find((v) => v.name === 'latest_order');
    const keyPrefix = view?.onlineStore.keyPrefix ?? '';
    const c1 = (await client.send(new ScanCommand({ TableName: table }))).Items?.find(
      (item) => item.pk?.S === `${keyPrefix}#customer_id=C1`,
    );
    expect(c1).toBeDefined();
    // A materialization (another process) read C1's row before the delete and holds the lease.
    const state = new MaterializationStateStore(client, table, keyPrefix);
    const holder = 'local-999999-abcd';
    await state.acquire(holder, 60_000);
    let finished = false;
    const lateMaterialization = async () => {
      if (finished) return;
      finished = true;
      await client.send(new PutItemCommand({ TableName: table, Item: c1 ?? {} }));
      await state.finish(holder, run, {});
    };
    const waits: string[] = [];
    await eraseEntities({
      registry: fixture.registry,
      dataDir: fixture.dataDir,
      env: 'local',
      keys: parseErasureKeys(fixture.registry, ['customer_id=C1']),
      online: { client, table },
      // The holder's pid runs nowhere, but a lease held by a live run is what this test means.
      isOwnerGone: () => false,
      materializationPollMs: 20,
      onMaterializationWait: (wait) => {
        waits.push(wait.holder);
        void lateMaterialization();
      },
    });
    await lateMaterialization();
    const keys = ((await client.send(new ScanCommand({ TableName: table }))).Items ?? [])
      .map((item) => item.pk?.S ?? '')
      .filter((pk) => !pk.startsWith('~'));
    expect(keys).toEqual([`${keyPrefix}#customer_id=C2`]);
    expect(waits[0]).toBe(holder);
    expect((await state.read()).lease).toBeUndefined();
  });
});
