import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readManifest } from '../../lib/offline/ingest-manifest.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { pendingPushLogs } from '../../lib/push/push-log.ts';
import { makeTempDir, type RunningFstore, spawnFstore, writeDefs } from '../helpers/run-fstore.ts';

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

const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000).toISOString();

async function serve(dataDir: string, flags: string[], env: Record<string, string> = {}) {
  const defsDir = await writeDefs({ 'defs.ts': defs }, await makeTempDir('serve-push-defs'));
  const server = spawnFstore(
    ['--defs', defsDir, '--data-dir', dataDir, 'serve', '--port', '0', ...flags],
    { env },
  );
  const [, url] = await server.waitFor(/lookup API ready on (http:\/\/\S+)/);
  return { server, url: url as string };
}

async function post(url: string, body: unknown) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: checked field by field
  return { status: response.status, json: (await response.json()) as any };
}

const pushRow = (url: string, amount: unknown, minutesAgo: number, to = 'online') =>
  post(`${url}/v1/push/orders`, {
    to,
    rows: [{ customer_id: 'C1', amount, event_ts: at(minutesAgo) }],
  });

async function amount(url: string): Promise<unknown> {
  const { json } = await post(`${url}/v1/feature-views/last_order`, {
    entities: [{ customer_id: 'C1' }],
  });
  return json.results[0].features.amount.value;
}

async function ingestsOfOrders(dataDir: string): Promise<number> {
  const manifest = (await readManifest(offlineRoot(dataDir, 'local'))) ?? [];
  return manifest.filter((r) => r.source === 'orders').length;
}

async function until(check: () => Promise<boolean>, what: string, server: RunningFstore) {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > 60_000) throw new Error(`timed out: ${what}\n${server.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('fstore serve with pushes', () => {
  it('answers a lookup after a push with the pushed value although items are cached', async () => {
    const dataDir = path.join(await makeTempDir('serve-push-cache'), '.fstore');
    const { server, url } = await serve(dataDir, ['--cache-ttl-ms', '600000']);
    try {
      expect((await pushRow(url, 1, 30)).status).toBe(200);
      expect(await amount(url)).toBe(1);
      expect(await amount(url)).toBe(1); // now cached for ten minutes
      expect((await pushRow(url, 2, 20)).status).toBe(200);
      expect(await amount(url)).toBe(2);
      // A refused push writes nothing; the answer stays.
      expect((await pushRow(url, 'lots', 10)).status).toBe(400);
      expect(await amount(url)).toBe(2);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  }, 120_000);

  it('ingests push logs in the background; SIGTERM mid-ingest leaves the log whole and waiting', async () => {
    const dataDir = path.join(await makeTempDir('serve-push-term'), '.fstore');
    const first = await serve(dataDir, ['--compact-push-logs-every', '1s'], {
      FSTORE_PAUSE_AT: 'ingest:before-commit',
    });
    expect((await pushRow(first.url, 3, 30, 'offline')).status).toBe(200);
    await first.server.waitFor(/fstore-pause: ingest:before-commit/);
    expect(await first.server.stop('SIGTERM')).toBe(0);
    expect(await pendingPushLogs(dataDir, 'local', 'orders')).toHaveLength(1);
    expect(await ingestsOfOrders(dataDir)).toBe(0);

    const second = await serve(dataDir, ['--compact-push-logs-every', '1s']);
    try {
      await until(
        async () => (await pendingPushLogs(dataDir, 'local', 'orders')).length === 0,
        'the log ingested',
        second.server,
      );
      await until(
        async () => second.server.stderr().includes('push logs of orders: 1 ingested (1 rows)'),
        'the compaction reported',
        second.server,
      );
      expect(await ingestsOfOrders(dataDir)).toBe(1);
    } finally {
      expect(await second.server.stop()).toBe(0);
    }
  }, 180_000);

  it('a server killed (kill -9) between the ingest commit and removing the log ingests it once', async () => {
    const dataDir = path.join(await makeTempDir('serve-push-kill'), '.fstore');
    const first = await serve(dataDir, ['--compact-push-logs-every', '1s'], {
      FSTORE_FAULT: 'ingest:after-commit',
    });
    expect((await pushRow(first.url, 4, 30, 'offline')).status).toBe(200);
    expect(await first.server.exited).toBeNull(); // SIGKILL at the fault point
    expect(await pendingPushLogs(dataDir, 'local', 'orders')).toHaveLength(1);
    expect(await ingestsOfOrders(dataDir)).toBe(1);

    const second = await serve(dataDir, ['--compact-push-logs-every', '1s']);
    try {
      await until(
        async () => (await pendingPushLogs(dataDir, 'local', 'orders')).length === 0,
        'the log removed',
        second.server,
      );
      expect(await ingestsOfOrders(dataDir)).toBe(1);
    } finally {
      expect(await second.server.stop()).toBe(0);
    }
  }, 180_000);
});
