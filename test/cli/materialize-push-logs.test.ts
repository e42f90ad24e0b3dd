import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { pendingPushLogs } from '../../lib/push/push-log.ts';
import { makeTempDir, runFstore, spawnFstore, writeDefs } from '../helpers/run-fstore.ts';

const defs = `
import { defineEntity, defineFeatureView, defineSource } from 'fstore:definitions';
const customer = defineEntity({ name: 'customer', joinKeys: [{ name: 'customer_id', type: 'string' }] });
const orders = defineSource({
  name: 'orders',
  schema: { customer_id: 'string', amount: 'float64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
export const lastOrder = defineFeatureView({
  name: 'last_order', entities: [customer], source: orders, features: { amount: 'float64' },
  online: true, schedule: 'rate(1 day)',
});
`;

async function post(url: string, body: unknown) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: checked field by field
  return { status: response.status, json: (await response.json()) as any };
}

describe('fstore materialize with push logs waiting', () => {
  it('ingests them first, so the later of two tied pushes stays online', async () => {
    const dataDir = path.join(await makeTempDir('materialize-push-logs'), '.fstore');
    const defsDir = await writeDefs(
      { 'defs.ts': defs },
      await makeTempDir('materialize-push-defs'),
    );
    const args = ['--defs', defsDir, '--data-dir', dataDir];
    // No background compaction: the server leaves every push log waiting.
    const server = spawnFstore([...args, 'serve', '--port', '0', '--compact-push-logs-every', '0']);
    try {
      const [, url] = await server.waitFor(/lookup API ready on (http:\/\/\S+)/);
      const eventTs = new Date(Date.now() - 3_600_000).toISOString();
      const push = (amount: number) =>
        post(`${url}/v1/push/orders`, { rows: [{ customer_id: 'C1', amount, event_ts: eventTs }] });
      const amount = async () =>
        (await post(`${url}/v1/feature-views/last_order`, { entities: [{ customer_id: 'C1' }] }))
          .json.results[0].features.amount.value;
      expect((await push(1)).status).toBe(200);
      const compacted = await runFstore([...args, 'push', '--compact']);
      expect(compacted.code, compacted.stderr).toBe(0);
      expect((await push(2)).status).toBe(200);
      expect(await amount()).toBe(2);

      const run = await runFstore([...args, 'materialize', '--view', 'last_order']);
      expect(run.code, run.stderr).toBe(0);
      expect(await amount()).toBe(2);
      expect(run.stderr).toContain(
        'push logs of orders: 1 log (1 row) ingested into the offline store first',
      );
      expect(await pendingPushLogs(dataDir, 'local', 'orders')).toEqual([]);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  }, 240_000);

  it("fstore serve's scheduled run ingests them first too", async () => {
    const work = await makeTempDir('scheduled-push-logs');
    const dataDir = path.join(work, '.fstore');
    const defsDir = await writeDefs(
      { 'defs.ts': defs.replace("schedule: 'rate(1 day)'", "schedule: 'rate(1 minute)'") },
      await makeTempDir('scheduled-push-defs'),
    );
    const args = ['--defs', defsDir, '--data-dir', dataDir];
    const eventTs = new Date(Date.now() - 3_600_000).toISOString();
    // The offline store holds a row that the push below ties with (same event time, no created
    // time): without its log the scheduled run's full first pass would write this one back.
    const file = path.join(work, 'orders.jsonl');
    await writeFile(
      file,
      `${JSON.stringify({ customer_id: 'C1', amount: 1, event_ts: eventTs })}\n`,
    );
    const ingested = await runFstore([...args, 'ingest', '--source', 'orders', '--file', file]);
    expect(ingested.code, ingested.stderr).toBe(0);
    const server = spawnFstore([...args, 'serve', '--port', '0', '--compact-push-logs-every', '0']);
    try {
      const [, url] = await server.waitFor(/lookup API ready on (http:\/\/\S+)/);
      const pushed = await post(`${url}/v1/push/orders`, {
        rows: [{ customer_id: 'C1', amount: 2, event_ts: eventTs }],
      });
      expect(pushed.status).toBe(200);
      for (let waited = 0; !server.stderr().includes('materialized last_order'); waited += 200) {
        if (waited > 150_000) throw new Error(`no scheduled run:\n${server.output()}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const { json } = await post(`${url}/v1/feature-views/last_order`, {
        entities: [{ customer_id: 'C1' }],
      });
      expect(json.results[0].features.amount.value).toBe(2);
      expect(server.stderr()).toContain(
        'push logs of orders: 1 ingested (1 rows) before materializing last_order',
      );
    } finally {
      expect(await server.stop()).toBe(0);
    }
  }, 300_000);
});
