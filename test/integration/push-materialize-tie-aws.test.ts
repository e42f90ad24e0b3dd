import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalDynamo, startDynalite } from '../../lib/local/dynalite-server.ts';
import { clockSeq } from '../../lib/offline/clock-seq.ts';
import { lookupFeatures } from '../../lib/online/online-lookup.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { writeOnlineRows } from '../../lib/online/online-writer.ts';
import { executePush } from '../../lib/push/execute-push.ts';
import { defaultPushLimits } from '../../lib/push/push-limits.ts';
import { pushRegistryProjection } from '../../lib/registry/runtime-projection.ts';
import { paymentRow, pushRegistry } from '../helpers/push-registry.ts';

const registry = pushRegistry();
let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(async () => dynamo.close());

const event = new Date(Date.now() - 3_600_000).toISOString();
const pushedAt = Date.now() - 60_000;

/**
 * On AWS the offline store numbers ingested rows by the clock (S3IngestTarget: ms × 2^20), and
 * staged pushes are committed only when `fstore compact --env` runs, so a materialization may
 * run first and read a tied row (same keys, event and created time) ingested before the push.
 */
async function pushThenMaterialize(table: string, seqFromClock: boolean, ingestedAtMs: number) {
  const client = localDynamoClient(dynamo.endpoint);
  await ensureLocalTable(client, table);
  await executePush(
    { registry, online: { client, table, seqFromClock }, now: () => pushedAt },
    defaultPushLimits,
    'payments',
    { rows: [paymentRow(event, { customer_id: 'T1', amount: 1 })], to: 'online' },
  );
  const view = pushRegistryProjection(registry).featureViews.find((v) => v.name === 'last_payment');
  if (!view) throw new Error('no last_payment view');
  const materialized = await writeOnlineRows(client, table, view, [
    {
      values: { ...paymentRow(event, { customer_id: 'T1', amount: 2 }) },
      eventTs: event,
      createdTs: event,
      seq: clockSeq(ingestedAtMs),
    },
  ]);
  const [served] = await lookupFeatures(client, table, registry, {
    views: [{ view: 'last_payment', features: [{ feature: 'amount', outputName: 'amount' }] }],
    entities: [{ customer_id: 'T1' }],
  });
  return { materialized, amount: served?.amount?.value };
}

describe('a pushed item and a tied row materialized before the push is compacted (AWS)', () => {
  it('keeps the pushed value against a tied row ingested before the push', async () => {
    const { materialized, amount } = await pushThenMaterialize(
      'tie-before',
      true,
      pushedAt - 5_000,
    );
    expect(materialized).toEqual({ written: 0, skippedAsOlder: 1 });
    expect(amount).toBe(1);
  });

  it('lets a tied row ingested after the push replace it, as offline where that ingest ranks higher', async () => {
    const { materialized, amount } = await pushThenMaterialize('tie-after', true, pushedAt + 5_000);
    expect(materialized).toEqual({ written: 1, skippedAsOlder: 0 });
    expect(amount).toBe(2);
  });

  it('locally (sequence numbers by count, push logs ingested before each materialization) a pushed item carries no sequence', async () => {
    const { materialized, amount } = await pushThenMaterialize(
      'tie-local',
      false,
      pushedAt - 5_000,
    );
    // Locally the materializer ingests the waiting push logs first, so a row with a sequence
    // number read then is one the push's own log ranks below or is (docs/point-in-time.md).
    expect(materialized).toEqual({ written: 1, skippedAsOlder: 0 });
    expect(amount).toBe(2);
  });
});
