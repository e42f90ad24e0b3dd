import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lookupFeatures } from '../../lib/online/online-lookup.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { writeOnlineRows } from '../../lib/online/online-writer.ts';
import { type DynamoServer, dynamoServers } from '../helpers/dynamodb-servers.ts';
import { allFeatures, onlineRegistry } from '../helpers/online-registry.ts';

const { registry, profile, lastOrder } = onlineRegistry();
const now = Date.parse('2026-03-02T00:00:00Z');
let dynamo: DynamoServer;
let client: ReturnType<typeof localDynamoClient>;
let tableIndex = 0;

async function freshTable(): Promise<string> {
  const table = `fstore-test-${tableIndex++}`;
  await ensureLocalTable(client, table);
  return table;
}

for (const server of dynamoServers) {
  if (!server.unavailable) continue;
  // .ci/run installs Java and sets FSTORE_REQUIRE_JAVA=1, so there a missing server fails.
  if (process.env.FSTORE_REQUIRE_JAVA === '1')
    throw new Error(`online store suite on ${server.name} cannot run: ${server.unavailable}`);
  const reason = `${server.unavailable} (apt-get install default-jre-headless)`;
  console.warn(`skipped: online store suite on ${server.name}: ${reason}`);
  // Reported by vitest as a skipped test, so the missing suite shows in the run's counts.
  it(`online store against ${server.name}: skipped, ${reason}`, (context) => context.skip());
}

describe.each(dynamoServers.filter((s) => !s.unavailable))(
  'online store against $name',
  (server) => {
    beforeAll(async () => {
      dynamo = await server.start();
      client = localDynamoClient(dynamo.endpoint);
    }, 60_000);
    afterAll(async () => {
      client.destroy();
      await dynamo.close();
    }, 30_000);

    it('round-trips typed values and answers one result per entity in request order', async () => {
      const table = await freshTable();
      await writeOnlineRows(client, table, profile, [
        {
          values: { customer_id: 'C1', plan: 'gold', charges: 9.5, tags: ['a', 'b'] },
          eventTs: '2026-03-01T12:00:00Z',
          createdTs: '2026-03-01T12:00:01Z',
        },
        {
          values: { customer_id: 'C2', plan: 'basic', charges: null, tags: [] },
          eventTs: '2026-03-01T13:00:00.123456Z',
        },
      ]);
      await writeOnlineRows(client, table, lastOrder, [
        { values: { customer_id: 'C2', amount: 12.25 }, eventTs: '2026-01-01T00:00:00Z' },
      ]);
      const results = await lookupFeatures(
        client,
        table,
        registry,
        {
          views: allFeatures,
          entities: [{ customer_id: 'C2' }, { customer_id: 'C9' }, { customer_id: 'C1' }],
        },
        { now: () => now },
      );
      expect(results).toEqual([
        {
          plan: {
            value: 'basic',
            status: 'PRESENT',
            event_timestamp: '2026-03-01T13:00:00.123456Z',
          },
          charges: {
            value: null,
            status: 'NULL_VALUE',
            event_timestamp: '2026-03-01T13:00:00.123456Z',
          },
          tags: { value: [], status: 'PRESENT', event_timestamp: '2026-03-01T13:00:00.123456Z' },
          last_amount: {
            value: 12.25,
            status: 'PRESENT',
            event_timestamp: '2026-01-01T00:00:00.000000Z',
          },
        },
        {
          plan: { value: null, status: 'NOT_FOUND', event_timestamp: null },
          charges: { value: null, status: 'NOT_FOUND', event_timestamp: null },
          tags: { value: null, status: 'NOT_FOUND', event_timestamp: null },
          last_amount: { value: null, status: 'NOT_FOUND', event_timestamp: null },
        },
        {
          plan: {
            value: 'gold',
            status: 'PRESENT',
            event_timestamp: '2026-03-01T12:00:00.000000Z',
          },
          charges: {
            value: 9.5,
            status: 'PRESENT',
            event_timestamp: '2026-03-01T12:00:00.000000Z',
          },
          tags: {
            value: ['a', 'b'],
            status: 'PRESENT',
            event_timestamp: '2026-03-01T12:00:00.000000Z',
          },
          last_amount: { value: null, status: 'NOT_FOUND', event_timestamp: null },
        },
      ]);
    });

    it('never lets an older event overwrite a newer one; on the same event time the later created time wins', async () => {
      const table = await freshTable();
      const row = (plan: string, eventTs: string, createdTs?: string) => ({
        values: { customer_id: 'C1', plan, charges: 1, tags: [] },
        eventTs,
        ...(createdTs ? { createdTs } : {}),
      });
      expect(
        await writeOnlineRows(client, table, profile, [
          row('new', '2026-03-01T12:00:00Z', '2026-03-01T12:00:00Z'),
        ]),
      ).toEqual({ written: 1, skippedAsOlder: 0 });
      expect(
        await writeOnlineRows(client, table, profile, [
          row('old', '2026-03-01T11:00:00Z', '2026-03-01T13:00:00Z'),
        ]),
      ).toEqual({ written: 0, skippedAsOlder: 1 });
      expect(
        await writeOnlineRows(client, table, profile, [
          row('same-but-earlier-write', '2026-03-01T12:00:00Z', '2026-03-01T11:59:00Z'),
        ]),
      ).toEqual({ written: 0, skippedAsOlder: 1 });
      expect(
        await writeOnlineRows(client, table, profile, [
          row('same-no-created', '2026-03-01T12:00:00Z'),
        ]),
      ).toEqual({ written: 0, skippedAsOlder: 1 });
      expect(
        await writeOnlineRows(client, table, profile, [
          row('correction', '2026-03-01T12:00:00Z', '2026-03-01T12:30:00Z'),
        ]),
      ).toEqual({ written: 1, skippedAsOlder: 0 });
      const [result] = await lookupFeatures(
        client,
        table,
        registry,
        { views: [allFeatures[0] as (typeof allFeatures)[0]], entities: [{ customer_id: 'C1' }] },
        { now: () => now },
      );
      expect(result?.plan?.value).toBe('correction');
    });

    it('reports OUTSIDE_TTL with a null value once an item is older than its view TTL', async () => {
      const table = await freshTable();
      await writeOnlineRows(client, table, profile, [
        {
          values: { customer_id: 'C1', plan: 'gold', charges: 1, tags: [] },
          eventTs: '2026-02-28T23:59:59Z',
        },
      ]);
      const [late] = await lookupFeatures(
        client,
        table,
        registry,
        { views: allFeatures, entities: [{ customer_id: 'C1' }] },
        { now: () => now },
      );
      expect(late?.plan).toEqual({
        value: null,
        status: 'OUTSIDE_TTL',
        event_timestamp: '2026-02-28T23:59:59.000000Z',
      });
      const [fresh] = await lookupFeatures(
        client,
        table,
        registry,
        { views: allFeatures, entities: [{ customer_id: 'C1' }] },
        { now: () => Date.parse('2026-03-01T00:00:00Z') },
      );
      expect(fresh?.plan?.status).toBe('PRESENT');
    });

    it('looks up more than 100 keys in several parallel batches, duplicates included', async () => {
      const table = await freshTable();
      const ids = Array.from({ length: 230 }, (_, i) => `C${i}`);
      await writeOnlineRows(
        client,
        table,
        lastOrder,
        ids.map((id, i) => ({
          values: { customer_id: id, amount: i },
          eventTs: '2026-03-01T00:00:00Z',
        })),
      );
      const entities = [...ids, 'C5', 'missing'].map((customer_id) => ({ customer_id }));
      const results = await lookupFeatures(
        client,
        table,
        registry,
        { views: [allFeatures[1] as (typeof allFeatures)[1]], entities },
        { now: () => now },
      );
      expect(results.map((r) => r.last_amount?.value)).toEqual([...ids.map((_, i) => i), 5, null]);
    });
  },
);
