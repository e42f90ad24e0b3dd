import { readFile } from 'node:fs/promises';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../lib/definitions/index.ts';
import { Prng } from '../../lib/demo/prng.ts';
import { type LocalDynamo, startDynalite } from '../../lib/local/dynalite-server.ts';
import { materializeLocal } from '../../lib/local/materialize-local.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { itemSizeBytes, maxItemBytes, putCommand } from '../../lib/online/online-writer.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const embeddings = defineSource({
  name: 'embeddings',
  schema: { customer_id: 'string', vector: 'list<float64>', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const embedding = defineFeatureView({
  name: 'embedding',
  entities: [customer],
  source: embeddings,
  features: { vector: 'list<float64>' },
  online: true,
  schedule: 'rate(1 hour)',
});

const m = Date.parse('2026-03-01T00:00:00Z');
const prng = new Prng(11);
/** Full-precision doubles: about 17 significant digits, 11 bytes each in a DynamoDB list. */
const vector = (length: number) => Array.from({ length }, () => prng.next());

describe('online items over DynamoDB 400 KB limit (DuckDB + dynalite)', () => {
  let server: LocalDynamo;
  let client: ReturnType<typeof localDynamoClient>;
  beforeAll(async () => {
    server = await startDynalite();
    client = localDynamoClient(server.endpoint);
  });
  afterAll(async () => {
    client.destroy();
    await server.close();
  });

  it('quarantines a row whose item passes 400 KB, naming view, entity and size, and writes the rest of the batch', async () => {
    const fixture = await offlineFixture([customer, embeddings, embedding]);
    const at = new Date(m - 3600_000).toISOString();
    await fixture.ingest('embeddings', [
      { customer_id: 'C1', vector: vector(8), event_ts: at },
      { customer_id: 'C2', vector: vector(40_000), event_ts: at },
      { customer_id: 'C3', vector: vector(8), event_ts: at },
    ]);
    const table = 'fstore-size-online';
    await ensureLocalTable(client, table);
    const [result] = await materializeLocal({
      registry: fixture.registry,
      dataDir: fixture.dataDir,
      env: 'local',
      client,
      table,
      now: () => m,
    });
    expect(result?.status).toBe('succeeded');
    expect(result?.counts).toMatchObject({ rowsRead: 3, written: 2, rejected: 1 });
    const [line, ...more] = (await readFile(result?.quarantine as string, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(more).toEqual([]);
    expect(line.row.customer_id).toBe('C2');
    expect(line.reasons).toEqual([
      expect.stringMatching(
        /^embedding\[customer_id=C2\]: the online item would be at least \d{6} bytes, over DynamoDB's item size limit of 409600 bytes \(400 KB\)$/,
      ),
    ]);
    const items = await client.send(new ScanCommand({ TableName: table }));
    const keys = (items.Items ?? []).map((i) => i.pk?.S ?? '').filter((k) => !k.startsWith('~'));
    const prefix = fixture.registry.featureViews[0]?.onlineStore.keyPrefix;
    expect(keys.sort()).toEqual([`${prefix}#customer_id=C1`, `${prefix}#customer_id=C3`]);
  });

  it('accepts the largest item it estimates under the limit, so the estimate never counts less than dynalite does', async () => {
    const fixture = await offlineFixture([customer, embeddings, embedding]);
    const view = fixture.registry.featureViews[0];
    if (!view) throw new Error('view missing');
    const values = vector(40_000);
    const row = (length: number) => ({
      values: { customer_id: 'C9', vector: values.slice(0, length) },
      eventTs: m * 1000,
    });
    // The longest vector whose item the estimate allows.
    let length = 0;
    for (let step = 32_768; step >= 1; step /= 2) {
      try {
        putCommand('t', view, row(length + step), m);
        length += step;
      } catch {}
    }
    const command = putCommand('fstore-edge-online', view, row(length), m);
    expect(itemSizeBytes(command.input.Item ?? {})).toBeLessThanOrEqual(maxItemBytes);
    expect(itemSizeBytes(command.input.Item ?? {})).toBeGreaterThan(maxItemBytes - 12);
    await ensureLocalTable(client, 'fstore-edge-online');
    await client.send(command);
  });
});
