import { DeleteItemCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../lib/definitions/index.ts';
import { startDynalite } from '../../lib/local/dynalite-server.ts';
import { materializeLocal } from '../../lib/local/materialize-local.ts';
import { partitionKey } from '../../lib/online/entity-key.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { putCommand, writeOnlineRows } from '../../lib/online/online-writer.ts';
import { type AnyDefinition, compileRegistry, type Registry } from '../../lib/registry/index.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const events = defineSource({
  name: 'events',
  schema: { customer_id: 'string', score: 'int64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const profile = (edit: { ttl?: string; max?: number } = {}) =>
  defineFeatureView({
    name: 'profile',
    entities: [customer],
    source: events,
    features: { score: { type: 'int64', min: 0, max: edit.max ?? 100 } },
    ttl: edit.ttl ?? '30d',
    online: true,
    schedule: 'rate(1 hour)',
  });

const day = 86_400_000;
const m = Date.parse('2026-03-01T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const compiled = (definitions: readonly AnyDefinition[]): Registry =>
  compileRegistry(definitions.map((definition) => ({ definition })));

describe('a full run after a definition change replaces what the old definition wrote (dynalite)', () => {
  let server: Awaited<ReturnType<typeof startDynalite>>;
  let client: ReturnType<typeof localDynamoClient>;
  let tables = 0;

  beforeAll(async () => {
    server = await startDynalite();
    client = localDynamoClient(server.endpoint);
  });
  afterAll(async () => {
    client.destroy();
    await server.close();
  });

  async function setUp(rows: readonly { id: string; score: number; at: number }[]) {
    const fixture = await offlineFixture([customer, events, profile()]);
    await fixture.ingest(
      'events',
      rows.map((r) => ({ customer_id: r.id, score: r.score, event_ts: iso(r.at) })),
    );
    const table = `fstore-def${tables++}-online`;
    await ensureLocalTable(client, table);
    const run = (registry: Registry, at: number) =>
      materializeLocal({
        registry,
        dataDir: fixture.dataDir,
        env: 'local',
        client,
        table,
        now: () => at,
      }).then(([result]) => result);
    const item = async (registry: Registry, id: string) => {
      const view = registry.featureViews[0];
      if (!view) throw new Error('no view');
      const { Item } = await client.send(
        new GetItemCommand({
          TableName: table,
          Key: { pk: { S: partitionKey(view.onlineStore.keyPrefix, `customer_id=${id}`) } },
          ConsistentRead: true,
        }),
      );
      return Item;
    };
    return { fixture, table, run, item };
  }

  it('rewrites an unchanged winner with the new TTL, so DynamoDB expires it when the new TTL ends', async () => {
    const { fixture, run, item } = await setUp([{ id: 'C1', score: 5, at: m - day }]);
    await run(fixture.registry, m);
    const eventSeconds = (m - day) / 1000;
    expect((await item(fixture.registry, 'C1'))?.expires_at).toEqual({
      N: String(eventSeconds + 30 * 86_400),
    });
    const longer = compiled([customer, events, profile({ ttl: '90d' })]);
    expect(longer.featureViews[0]?.onlineStore.keyPrefix).toBe(
      fixture.registry.featureViews[0]?.onlineStore.keyPrefix,
    );
    const result = await run(longer, m + 3600_000);
    expect(result?.scope).toEqual({ kind: 'full', reason: 'the definition changed' });
    expect(result?.counts).toMatchObject({ rowsRead: 1, written: 1, skippedAsOlder: 0 });
    expect((await item(longer, 'C1'))?.expires_at).toEqual({
      N: String(eventSeconds + 90 * 86_400),
    });
  });

  it("replaces a newer row the old definition wrote with the new definition's older winner", async () => {
    const { fixture, table, run, item } = await setUp([{ id: 'C1', score: 5, at: m - day }]);
    await run(fixture.registry, m);
    const view = fixture.registry.featureViews[0];
    const oldDefinition = (await item(fixture.registry, 'C1'))?.fstore_def?.S;
    if (!view || !oldDefinition) throw new Error('no view or no fingerprint');
    // A row the old definition produced and the new one does not (newer than the new winner).
    await client.send(
      putCommand(
        table,
        view,
        { values: { customer_id: 'C1', score: 9 }, eventTs: iso(m - 1000) },
        m,
        oldDefinition,
      ),
    );
    const longer = compiled([customer, events, profile({ ttl: '90d' })]);
    const result = await run(longer, m + 3600_000);
    expect(result?.scope).toEqual({ kind: 'full', reason: 'the definition changed' });
    expect(result?.counts).toMatchObject({ rowsRead: 1, written: 1, skippedAsOlder: 0 });
    const replaced = await item(longer, 'C1');
    expect(replaced?.f?.M?.score).toEqual({ N: '5' });
    expect(replaced?.fstore_def?.S).not.toBe(oldDefinition);
  });

  it('keeps a newer row under another definition on an incremental run (late rows do not replace it)', async () => {
    const { fixture, table, run, item } = await setUp([{ id: 'C1', score: 5, at: m - day }]);
    await run(fixture.registry, m);
    const view = fixture.registry.featureViews[0];
    if (!view) throw new Error('no view');
    // An item from before fingerprints: newer than the late row ingested next.
    await writeOnlineRows(client, table, view, [
      { values: { customer_id: 'C1', score: 9 }, eventTs: iso(m - 1000) },
    ]);
    await fixture.ingest('events', [{ customer_id: 'C1', score: 7, event_ts: iso(m - 2 * day) }]);
    const result = await run(fixture.registry, m + 3600_000);
    expect(result?.scope?.kind).toBe('incremental');
    expect(result?.counts).toMatchObject({ rowsRead: 1, written: 0, skippedAsOlder: 1 });
    expect((await item(fixture.registry, 'C1'))?.f?.M?.score).toEqual({ N: '9' });
  });

  it('does not rewrite an unchanged winner when the definition is the same', async () => {
    const { fixture, run } = await setUp([{ id: 'C1', score: 5, at: m - day }]);
    await run(fixture.registry, m);
    // A backfill reads the winner again under the same definition: nothing to replace.
    const again = await materializeLocal({
      registry: fixture.registry,
      dataDir: fixture.dataDir,
      env: 'local',
      client,
      table: `fstore-def${tables - 1}-online`,
      now: () => m + 3600_000,
      range: { start: iso(m - 2 * day) },
    }).then(([r]) => r);
    expect(again?.counts).toMatchObject({ rowsRead: 1, written: 0, skippedAsOlder: 1 });
  });

  it('deletes the item of a winner that a tightened constraint now quarantines', async () => {
    const { fixture, run, item } = await setUp([
      { id: 'C1', score: 80, at: m - day },
      { id: 'C2', score: 10, at: m - day },
    ]);
    await run(fixture.registry, m);
    expect(await item(fixture.registry, 'C1')).toBeDefined();
    const tighter = compiled([customer, events, profile({ max: 50 })]);
    const result = await run(tighter, m + 3600_000);
    expect(result?.scope).toEqual({ kind: 'full', reason: 'the definition changed' });
    expect(result?.counts).toMatchObject({ rowsRead: 2, rejected: 1, deleted: 1 });
    expect(await item(tighter, 'C1')).toBeUndefined();
    expect((await item(tighter, 'C2'))?.f?.M?.score).toEqual({ N: '10' });
  });

  it('sends no delete for a row an incremental run quarantines (no run of this definition wrote it)', async () => {
    const { fixture, run, item } = await setUp([{ id: 'C1', score: 10, at: m - day }]);
    await run(fixture.registry, m);
    await fixture.ingest('events', [{ customer_id: 'C1', score: 500, event_ts: iso(m + 1000) }]);
    const send = vi.spyOn(client, 'send');
    try {
      const result = await run(fixture.registry, m + 3600_000);
      expect(result?.scope?.kind).toBe('incremental');
      expect(result?.counts).toMatchObject({ rowsRead: 1, rejected: 1 });
      const deletes = send.mock.calls.filter(([command]) => command instanceof DeleteItemCommand);
      expect(deletes).toHaveLength(0);
    } finally {
      send.mockRestore();
    }
    expect((await item(fixture.registry, 'C1'))?.f?.M?.score).toEqual({ N: '10' });
  });

  it('keeps an item holding another row than the quarantined winner (newer, written by another path)', async () => {
    const { fixture, table, run, item } = await setUp([{ id: 'C1', score: 80, at: m - day }]);
    await run(fixture.registry, m);
    const view = fixture.registry.featureViews[0];
    if (!view) throw new Error('no view');
    await writeOnlineRows(client, table, view, [
      { values: { customer_id: 'C1', score: 7 }, eventTs: iso(m + 1000) },
    ]);
    const tighter = compiled([customer, events, profile({ max: 50 })]);
    const result = await run(tighter, m + 3600_000);
    expect(result?.counts).toMatchObject({ rowsRead: 1, rejected: 1 });
    expect(result?.counts.deleted).toBeUndefined();
    expect((await item(tighter, 'C1'))?.f?.M?.score).toEqual({ N: '7' });
  });
});
