import {
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AwsEraseOptions, eraseEntitiesOnAws } from '../../lib/erasure/erase-entities-aws.ts';
import { type LocalDynamo, startDynalite } from '../../lib/local/dynalite-server.ts';
import {
  type LastRun,
  MaterializationStateStore,
} from '../../lib/materialize/materialization-state.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import type { Registry } from '../../lib/registry/index.ts';
import { useAthenaOnCompactionFixture } from '../helpers/athena-on-compaction-fixture.ts';
import { awsEraseOfC1, fixtureErasePlace } from '../helpers/aws-erase-options.ts';
import { ordersSourceRegistry } from '../helpers/orders-source-registry.ts';
import { useS3CompactionFixture } from '../helpers/s3-compaction-fixture.ts';

const fixture = useS3CompactionFixture('erase-entities-aws-materialization');
const athena = useAthenaOnCompactionFixture(fixture);
const table = 'fstore-dev-online';
const registry = {
  ...ordersSourceRegistry,
  featureViews: [
    {
      name: 'customer_stats',
      source: 'orders',
      online: true,
      onlineStore: { keyPrefix: 'customer_stats#v1' },
    },
  ],
} as unknown as Registry;
const holder = 'materialize-run-1';

let dynamo: LocalDynamo;
let client: DynamoDBClient;
let state: MaterializationStateStore;

beforeAll(async () => {
  dynamo = await startDynalite();
  client = localDynamoClient(dynamo.endpoint);
  await ensureLocalTable(client, table);
  state = new MaterializationStateStore(client, table, 'customer_stats#v1');
});
afterAll(async () => {
  client.destroy();
  await dynamo.close();
});
beforeEach(async () => {
  fixture.bucket.objects.clear();
  await fixture.commitThreeIngests();
  // A table as a view's materialization leaves it: C1 and C2 online, no run holding the view.
  for (const pk of await itemKeys())
    await client.send(new DeleteItemCommand({ TableName: table, Key: { pk: { S: pk } } }));
  await putItem('customer_stats#v1#customer_id=C1');
  await putItem('customer_stats#v1#customer_id=C2');
});

async function putItem(pk: string): Promise<void> {
  await client.send(
    new PutItemCommand({ TableName: table, Item: { pk: { S: pk }, f: { S: '{}' } } }),
  );
}

async function itemKeys(): Promise<string[]> {
  const page = await client.send(new ScanCommand({ TableName: table }));
  return (page.Items ?? []).map((i) => String(i.pk?.S)).sort();
}

const run = (status: LastRun['status']): LastRun => ({
  runId: 'run-1',
  status,
  startedAt: '2026-03-01T00:00:00.000Z',
  finishedAt: '2026-03-01T00:01:00.000Z',
  window: { until: '2026-03-01T00:00:00.000000Z' },
  counts: { rowsRead: 1, written: 1, skippedAsOlder: 0, rejected: 0 },
  durationMs: 60_000,
});

const erase = (extra: Partial<AwsEraseOptions> = {}) =>
  eraseEntitiesOnAws(
    awsEraseOfC1(fixtureErasePlace(fixture, athena), {
      registry,
      online: { client, table },
      materializationPollMs: 20,
      ...extra,
    }),
  );

describe('fstore delete on AWS and a running materialization (dynalite)', () => {
  it('waits for a materialization that read the rows before the offline commit, then deletes the item it wrote back', async () => {
    await state.acquire(holder, 60_000);
    // The materialization read C1's row from Athena before the delete; its write lands late.
    let finished = false;
    const lateMaterialization = async () => {
      if (finished) return;
      finished = true;
      await putItem('customer_stats#v1#customer_id=C1');
      await state.finish(holder, run('succeeded'), {});
    };
    const waits: string[] = [];
    const result = await erase({
      materializationWaitMs: 30_000,
      onMaterializationWait: (wait) => {
        waits.push(`${wait.view} ${wait.holder}`);
        void lateMaterialization();
      },
    });
    // Without the wait it would have finished first, and its item come back after the delete.
    await lateMaterialization();
    expect((await itemKeys()).filter((k) => !k.startsWith('~'))).toEqual([
      'customer_stats#v1#customer_id=C2',
    ]);
    expect(waits[0]).toBe(`customer_stats ${holder}`);
    expect(result.online).toEqual([{ view: 'customer_stats', items: 1 }]);
    // The delete gave the lease back and left the run's record as the run wrote it.
    const after = await state.read();
    expect(after.lease).toBeUndefined();
    expect(after.lastRun?.runId).toBe('run-1');
  });

  it('gives up after the bounded wait naming the holder and how to retry; the rerun after the run ends deletes the item', async () => {
    await state.acquire(holder, 60_000);
    await expect(erase({ materializationWaitMs: 200 })).rejects.toThrow(
      /customer_stats.*held by materialize-run-1.*online items of the keys are not/,
    );
    expect((await fixture.readable()).map((r) => Number(r.fstore_seq))).toEqual([
      2, 3, 11, 12, 21, 23,
    ]);
    expect(await itemKeys()).toContain('customer_stats#v1#customer_id=C1');
    expect((await state.read()).lease?.owner).toBe(holder);

    await state.finish(holder, run('succeeded'), {});
    const rerun = await erase({ materializationWaitMs: 200 });
    expect(rerun.offline[0]).toMatchObject({ rows: 0 });
    expect(rerun.online).toEqual([{ view: 'customer_stats', items: 1 }]);
    expect(await itemKeys()).not.toContain('customer_stats#v1#customer_id=C1');
  });
});
