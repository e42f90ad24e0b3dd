import { existsSync, readdirSync } from 'node:fs';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quarantineDir } from '../../lib/data-paths.ts';
import {
  defineAggregationView,
  defineEntity,
  defineFeatureView,
  defineSource,
} from '../../lib/definitions/index.ts';
import { epochMicrosOf } from '../../lib/epoch-micros.ts';
import { hashErasureKeys } from '../../lib/erasure/audit-key-hash.ts';
import { eraseEntities } from '../../lib/erasure/erase-entities.ts';
import { erasureAuditPath, readErasureAudit } from '../../lib/erasure/erasure-audit.ts';
import { parseErasureKeys } from '../../lib/erasure/erasure-keys.ts';
import { localAuditKey } from '../../lib/erasure/local-audit-key.ts';
import { startDynalite } from '../../lib/local/dynalite-server.ts';
import { materializeLocal } from '../../lib/local/materialize-local.ts';
import { isNoFilesError, openDuckdb, queryRows } from '../../lib/offline/duckdb-session.ts';
import { findIngestLeftovers } from '../../lib/offline/ingest-leftovers.ts';
import { readManifest } from '../../lib/offline/ingest-manifest.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { runningTotalsDir } from '../../lib/offline/running-totals.ts';
import { createSnapshot } from '../../lib/offline/snapshots.ts';
import { sortedCopiesDir } from '../../lib/offline/sorted-copy.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { appendPushLog, pendingPushLogs } from '../../lib/push/push-log.ts';
import { validatePushRows } from '../../lib/push/validate-push-rows.ts';
import { pushRegistryProjection } from '../../lib/registry/runtime-projection.ts';
import { duckdbDialect } from '../../lib/sql/duckdb-dialect.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const store = defineEntity({ name: 'store', joinKeys: [{ name: 'store_id', type: 'int64' }] });
const orders = defineSource({
  name: 'orders',
  schema: { customer_id: 'string', store_id: 'int64', amount: 'float64', event_ts: 'timestamp' },
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
const stats = defineAggregationView({
  name: 'order_stats',
  entities: [customer],
  source: orders,
  aggregations: { amount: { functions: ['sum', 'count'], windows: ['7d'] } },
  online: true,
  schedule: 'rate(1 hour)',
});
const storeOrders = defineFeatureView({
  name: 'store_orders',
  entities: [store],
  source: orders,
  features: { amount: 'float64' },
  online: true,
  schedule: 'rate(1 hour)',
});

const m = Date.parse('2026-03-10T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const row = (customer_id: string, store_id: number, amount: number, daysAgo: number) => ({
  customer_id,
  store_id,
  amount,
  event_ts: iso(m - daysAgo * 86_400_000),
});

async function storedOrders(
  dataDir: string,
  columns = 'customer_id, store_id, amount, fstore_seq',
): Promise<Record<string, unknown>[]> {
  const session = await openDuckdb();
  try {
    const relation = duckdbDialect(offlineRoot(dataDir, 'local')).sourceRelation('orders');
    return await queryRows(
      session.connection,
      `SELECT ${columns} FROM ${relation} ORDER BY fstore_seq`,
    ).catch((error: unknown) => {
      if (isNoFilesError(error)) return [];
      throw error;
    });
  } finally {
    session.close();
  }
}

describe('eraseEntities (local store: DuckDB files, dynalite, quarantine)', () => {
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

  async function populated(table: string) {
    const fixture = await offlineFixture([customer, store, orders, latest, stats, storeOrders]);
    await fixture.ingest('orders', [row('C1', 1, 10, 3), row('C2', 1, 20, 2), row('C3', 2, 30, 1)]);
    await fixture.ingest('orders', [row('C1', 2, 11, 1), row('C2', 2, 21, 1)]);
    await fixture.ingest('orders', [row('C3', 2, 31, 0.5)]);
    await ensureLocalTable(client, table);
    await materializeLocal({
      registry: fixture.registry,
      dataDir: fixture.dataDir,
      env: 'local',
      client,
      table,
      now: () => m,
    });
    const quarantined = path.join(quarantineDir(fixture.dataDir, 'local'), 'latest_order');
    await mkdir(quarantined, { recursive: true });
    await writeFile(
      path.join(quarantined, 'run-1.jsonl'),
      [
        { view: 'latest_order', runId: 'run-1', reasons: ['x'], row: { customer_id: 'C1' } },
        { view: 'latest_order', runId: 'run-1', reasons: ['x'], row: { customer_id: 'C2' } },
      ]
        .map((r) => `${JSON.stringify(r)}\n`)
        .join(''),
    );
    // Running totals of order_stats, a cache built from the rows.
    await fixture.trainingSet([{ customer_id: 'C1', event_timestamp: iso(m) }], {
      request: { features: ['order_stats:*'] },
      aggregations: 'running-totals',
    });
    expect(existsSync(runningTotalsDir(offlineRoot(fixture.dataDir, 'local'), 'orders'))).toBe(
      true,
    );
    return fixture;
  }

  const onlineKeys = async (table: string) =>
    ((await client.send(new ScanCommand({ TableName: table }))).Items ?? [])
      .map((item) => item.pk?.S ?? '')
      .filter((pk) => !pk.startsWith('~'))
      .map((pk) => pk.replace(/#[^#]+#/, ' '))
      .sort();

  it('removes the rows of a customer offline (other rows keep their fstore_seq), its quarantined rows, its online items of every view and the running totals, and audits hashes only', async () => {
    const table = 'erase-one';
    const fixture = await populated(table);
    const { registry, dataDir } = fixture;
    const before = await storedOrders(dataDir);
    const recordsBefore = (await readManifest(offlineRoot(dataDir, 'local'))) ?? [];
    expect(await onlineKeys(table)).toContain('latest_order customer_id=C1');
    await createSnapshot(dataDir, 'local', { name: 'before', sources: ['orders'] });

    const result = await eraseEntities({
      registry,
      dataDir,
      env: 'local',
      keys: parseErasureKeys(registry, ['customer_id=C1']),
      online: { client, table },
    });

    expect(result.offline).toEqual([{ source: 'orders', rows: 2, files: 2 }]);
    expect(result.quarantine).toEqual([{ file: 'latest_order/run-1.jsonl', rows: 1 }]);
    expect(result.online).toEqual([
      { view: 'latest_order', items: 1 },
      { view: 'order_stats', items: 1 },
    ]);
    expect(result.runningTotalsRemoved).toEqual(['orders']);
    expect(result.snapshotsAffected).toEqual(['before']);
    expect(await storedOrders(dataDir)).toEqual(before.filter((r) => r.customer_id !== 'C1'));
    expect(await onlineKeys(table)).toEqual([
      'latest_order customer_id=C2',
      'latest_order customer_id=C3',
      'order_stats customer_id=C2',
      'order_stats customer_id=C3',
      'store_orders store_id=1',
      'store_orders store_id=2',
    ]);
    const quarantine = await readFile(
      path.join(quarantineDir(dataDir, 'local'), 'latest_order', 'run-1.jsonl'),
      'utf8',
    );
    expect(quarantine).not.toContain('C1');
    expect(quarantine).toContain('C2');
    // The records keep ids, row counts and sequence ranges; only their files changed.
    const recordsAfter = (await readManifest(offlineRoot(dataDir, 'local'))) ?? [];
    expect(recordsAfter.map(({ files: _f, ...r }) => r)).toEqual(
      recordsBefore.map(({ files: _f, ...r }) => r),
    );
    expect((await findIngestLeftovers(offlineRoot(dataDir, 'local'))).leftovers).toEqual([]);
    expect(existsSync(runningTotalsDir(offlineRoot(dataDir, 'local'), 'orders'))).toBe(false);
    // The sorted copy is written again from the rows left: it holds every row but C1's.
    const copies = readdirSync(sortedCopiesDir(offlineRoot(dataDir, 'local'), 'orders')).filter(
      (name) => !name.endsWith('.keys.parquet'),
    );
    expect(copies.filter((name) => name.endsWith('.parquet'))).toHaveLength(1);
    const copySession = await openDuckdb();
    try {
      const held = await queryRows(
        copySession.connection,
        `SELECT customer_id FROM read_parquet('${path.join(sortedCopiesDir(offlineRoot(dataDir, 'local'), 'orders'), copies[0] ?? '')}') ORDER BY ALL`,
      );
      expect(held.map((r) => r.customer_id)).toEqual(
        before
          .map((r) => r.customer_id)
          .filter((c) => c !== 'C1')
          .sort(),
      );
    } finally {
      copySession.close();
    }
    // Totals built again hold no C1: its aggregates come back empty.
    const rebuilt = await fixture.trainingSet(
      [
        { customer_id: 'C1', event_timestamp: iso(m) },
        { customer_id: 'C2', event_timestamp: iso(m) },
      ],
      { request: { features: ['order_stats:*'] }, aggregations: 'running-totals' },
    );
    expect(rebuilt.records?.[0]).toEqual(expect.objectContaining({ amount_count_7d: 0 }));
    expect(rebuilt.records?.[1]).toEqual(expect.objectContaining({ amount_count_7d: 2 }));

    const audit = await readFile(erasureAuditPath(dataDir, 'local'), 'utf8');
    expect(audit).not.toContain('C1');
    const [entry] = audit
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(entry).toEqual(
      expect.objectContaining({
        kind: 'entity-delete',
        keyHash: 'hmac-sha256',
        keys: hashErasureKeys(
          parseErasureKeys(registry, ['customer_id=C1']),
          await localAuditKey(dataDir, 'local'),
        ),
        offline: [{ source: 'orders', rows: 2, files: 2 }],
      }),
    );
  }, 120_000);

  it('a second delete of the same key finds nothing, succeeds and adds a second audit line', async () => {
    const table = 'erase-twice';
    const fixture = await populated(table);
    const { registry, dataDir } = fixture;
    const keys = parseErasureKeys(registry, ['customer_id=C1']);
    await eraseEntities({ registry, dataDir, env: 'local', keys, online: { client, table } });
    const after = await storedOrders(dataDir);
    await createSnapshot(dataDir, 'local', { name: 'after', sources: ['orders'] });
    const again = await eraseEntities({
      registry,
      dataDir,
      env: 'local',
      keys,
      online: { client, table },
    });
    expect(again.offline).toEqual([{ source: 'orders', rows: 0, files: 0 }]);
    expect(again.quarantine).toEqual([]);
    expect(again.online).toEqual([]);
    expect(again.snapshotsAffected).toEqual([]);
    expect(await storedOrders(dataDir)).toEqual(after);
    const audit = await readFile(erasureAuditPath(dataDir, 'local'), 'utf8');
    expect(audit.trim().split('\n')).toHaveLength(2);
    const [first, second] = await readErasureAudit(dataDir, 'local');
    expect(second?.keys).toEqual(first?.keys);
    expect((await readErasureAudit(dataDir, 'local')).map((e) => e.offline[0]?.rows)).toEqual([
      2, 0,
    ]);
  }, 120_000);

  it("deletes by an integer key (only that store's rows and items), and a dry run before it changes nothing", async () => {
    const table = 'erase-store';
    const fixture = await populated(table);
    const { registry, dataDir } = fixture;
    const keys = parseErasureKeys(registry, ['store_id=1']);
    const before = await storedOrders(dataDir);
    const counted = await eraseEntities({
      registry,
      dataDir,
      env: 'local',
      keys,
      online: { client, table },
      dryRun: true,
    });
    expect(counted.offline).toEqual([{ source: 'orders', rows: 2, files: 2 }]);
    expect(counted.online).toEqual([{ view: 'store_orders', items: 1 }]);
    expect(await storedOrders(dataDir)).toEqual(before);
    expect(existsSync(erasureAuditPath(dataDir, 'local'))).toBe(false);
    expect(await onlineKeys(table)).toContain('store_orders store_id=1');

    await eraseEntities({ registry, dataDir, env: 'local', keys, online: { client, table } });
    expect(await storedOrders(dataDir)).toEqual(before.filter((r) => r.store_id !== 1));
    expect(await onlineKeys(table)).not.toContain('store_orders store_id=1');
    expect(await onlineKeys(table)).toContain('latest_order customer_id=C1');
  }, 120_000);
  it('reads each file by its own columns: files ingested before the source had a key column are kept, and a key it has is still found there', async () => {
    const table = 'erase-schemas';
    const ordersV1 = defineSource({
      name: 'orders',
      schema: { customer_id: 'string', amount: 'float64', event_ts: 'timestamp' },
      timestampField: 'event_ts',
    });
    const latestV1 = defineFeatureView({
      name: 'latest_order',
      entities: [customer],
      source: ordersV1,
      features: { amount: 'float64' },
    });
    const old = await offlineFixture([customer, ordersV1, latestV1]);
    await old.ingest('orders', [
      { customer_id: 'C1', amount: 1, event_ts: iso(m) },
      { customer_id: 'C2', amount: 2, event_ts: iso(m) },
    ]);
    const fixture = await offlineFixture([customer, store, orders, latest, stats, storeOrders]);
    await cp(old.dataDir, fixture.dataDir, { recursive: true });
    await fixture.ingest('orders', [row('C1', 1, 10, 1), row('C3', 1, 30, 1)]);
    await ensureLocalTable(client, table);
    const erase = (entities: string[]) =>
      eraseEntities({
        registry: fixture.registry,
        dataDir: fixture.dataDir,
        env: 'local',
        keys: parseErasureKeys(fixture.registry, entities),
        online: { client, table },
      });

    expect((await erase(['store_id=1'])).offline).toEqual([
      { source: 'orders', rows: 2, files: 1 },
    ]);
    expect(await storedOrders(fixture.dataDir, 'customer_id')).toEqual([
      { customer_id: 'C1' },
      { customer_id: 'C2' },
    ]);
    expect((await erase(['customer_id=C1', 'store_id=2'])).offline).toEqual([
      { source: 'orders', rows: 1, files: 1 },
    ]);
    expect(await storedOrders(fixture.dataDir, 'customer_id')).toEqual([{ customer_id: 'C2' }]);
  }, 120_000);
  it('ingests the push logs waiting for the source first, so a pushed row of the entity cannot come back at their ingest', async () => {
    const table = 'erase-pushed';
    const fixture = await offlineFixture([customer, store, orders, latest, stats, storeOrders]);
    await fixture.ingest('orders', [row('C1', 1, 10, 1), row('C2', 1, 20, 1)]);
    const runtime = pushRegistryProjection(fixture.registry);
    const source = runtime.sources.find((s) => s.name === 'orders');
    if (!source) throw new Error('no orders source');
    const pushed = validatePushRows(runtime, source, [row('C1', 2, 11, 0), row('C2', 2, 21, 0)], {
      nowMicros: epochMicrosOf(iso(m)),
      maxFutureSkewSeconds: 300,
    });
    await appendPushLog(fixture.dataDir, 'local', source, pushed);
    await ensureLocalTable(client, table);

    const result = await eraseEntities({
      registry: fixture.registry,
      dataDir: fixture.dataDir,
      env: 'local',
      keys: parseErasureKeys(fixture.registry, ['customer_id=C1']),
      online: { client, table },
    });

    expect(result.offline).toEqual([{ source: 'orders', rows: 2, files: 2 }]);
    expect(await pendingPushLogs(fixture.dataDir, 'local', 'orders')).toEqual([]);
    expect(
      (await storedOrders(fixture.dataDir, 'customer_id, amount')).map((r) => r.amount),
    ).toEqual([20, 21]);
  }, 120_000);
});
