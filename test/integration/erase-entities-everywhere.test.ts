import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../lib/definitions/index.ts';
import { eraseEntities } from '../../lib/erasure/erase-entities.ts';
import { parseErasureKeys } from '../../lib/erasure/erasure-keys.ts';
import { startDynalite } from '../../lib/local/dynalite-server.ts';
import { compactStore } from '../../lib/offline/compact.ts';
import { isNoFilesError, openDuckdb, queryRows } from '../../lib/offline/duckdb-session.ts';
import { committedFilesOf, readManifestState } from '../../lib/offline/ingest-manifest.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { rewriteCommittedFiles } from '../../lib/offline/rewrite-files.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { quoteLiteral } from '../../lib/sql/dialect.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const product = defineEntity({
  name: 'product',
  joinKeys: [{ name: 'product_id', type: 'string' }],
});
// Has customer_id, but no view keyed on it.
const orders = defineSource({
  name: 'orders',
  schema: { customer_id: 'string', product_id: 'string', amount: 'float64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
// Holds the customer under another stored name (its raw column is customer_id), as an integer.
const visits = defineSource({
  name: 'visits',
  schema: { visitor: 'int64', pages: 'int64', event_ts: 'timestamp' },
  fieldMapping: { customer_id: 'visitor' },
  timestampField: 'event_ts',
});
const profiles = defineSource({
  name: 'profiles',
  schema: { customer_id: 'string', age: 'int64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const productLast = defineFeatureView({
  name: 'product_last',
  entities: [product],
  source: orders,
  features: { amount: 'float64' },
});
const customerAge = defineFeatureView({
  name: 'customer_age',
  entities: [customer],
  source: profiles,
  features: { age: 'int64' },
});
const definitions = [customer, product, orders, visits, profiles, productLast, customerAge];
const ts = '2026-11-30T00:00:00Z';

/** Every row on disk under a source's folder, committed or not, with the file holding it. */
async function rowsOnDisk(dataDir: string, source: string, column: string): Promise<string[]> {
  const session = await openDuckdb();
  try {
    const glob = path.join(offlineRoot(dataDir, 'local'), source, '*', '*.parquet');
    const rows = await queryRows(
      session.connection,
      `SELECT CAST(${column} AS VARCHAR) AS v FROM read_parquet(${quoteLiteral(glob)}, hive_partitioning = false) ORDER BY v`,
    );
    return rows.map((r) => String(r.v));
  } catch (error) {
    if (isNoFilesError(error)) return [];
    throw error;
  } finally {
    session.close();
  }
}

describe('eraseEntities reaches every file holding the keys', () => {
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

  it('deletes the rows of every source having the key column, with no view keyed on it, under its mapped name and of another type', async () => {
    const fixture = await offlineFixture(definitions);
    await fixture.ingest('orders', [
      { customer_id: 'C1', product_id: 'P1', amount: 1, event_ts: ts },
      { customer_id: 'C2', product_id: 'P1', amount: 2, event_ts: ts },
    ]);
    await fixture.ingest('visits', [
      { customer_id: 1, pages: 3, event_ts: ts },
      { customer_id: 2, pages: 4, event_ts: ts },
    ]);
    await fixture.ingest('profiles', [{ customer_id: 'C1', age: 30, event_ts: ts }]);
    await ensureLocalTable(client, 'everywhere');
    const erase = (entity: string) =>
      eraseEntities({
        registry: fixture.registry,
        dataDir: fixture.dataDir,
        env: 'local',
        keys: parseErasureKeys(fixture.registry, [entity]),
        online: { client, table: 'everywhere' },
      });

    const first = await erase('customer_id=C1');
    expect(first.offline).toEqual([
      { source: 'orders', rows: 1, files: 1 },
      { source: 'profiles', rows: 1, files: 1 },
      { source: 'visits', rows: 0, files: 0 },
    ]);
    expect(await rowsOnDisk(fixture.dataDir, 'orders', 'customer_id')).toEqual(['C2']);
    expect(await rowsOnDisk(fixture.dataDir, 'profiles', 'customer_id')).toEqual([]);

    // customer_id is a string key; visits stores it as int64 under "visitor": compared as text.
    const second = await erase('customer_id=2');
    expect(second.offline).toContainEqual({ source: 'visits', rows: 1, files: 1 });
    expect(await rowsOnDisk(fixture.dataDir, 'visits', 'visitor')).toEqual(['1']);
  }, 120_000);

  it('deletes the files a compaction replaced and keeps for late readers when they hold the keys', async () => {
    const fixture = await offlineFixture(definitions);
    await fixture.ingest('profiles', [{ customer_id: 'C1', age: 30, event_ts: ts }]);
    await fixture.ingest('profiles', [{ customer_id: 'C2', age: 31, event_ts: ts }]);
    await fixture.ingest('orders', [
      { customer_id: 'C2', product_id: 'P1', amount: 2, event_ts: ts },
    ]);
    await fixture.ingest('orders', [
      { customer_id: 'C3', product_id: 'P1', amount: 3, event_ts: ts },
    ]);
    await compactStore({ registry: fixture.registry, dataDir: fixture.dataDir, env: 'local' });
    const root = offlineRoot(fixture.dataDir, 'local');
    const keptBefore = (await readManifestState(root))?.replaced.flatMap((e) => e.files) ?? [];
    expect(keptBefore.filter((f) => f.startsWith('profiles/'))).toHaveLength(2);
    await ensureLocalTable(client, 'replaced');
    const dryRun = await eraseEntities({
      registry: fixture.registry,
      dataDir: fixture.dataDir,
      env: 'local',
      keys: parseErasureKeys(fixture.registry, ['customer_id=C1']),
      online: { client, table: 'replaced' },
      dryRun: true,
    });
    expect(dryRun.offline).toContainEqual({
      source: 'profiles',
      rows: 1,
      files: 1,
      replacedFiles: 1,
    });
    expect(await rowsOnDisk(fixture.dataDir, 'profiles', 'customer_id')).toEqual([
      'C1',
      'C1',
      'C2',
      'C2',
    ]);

    const result = await eraseEntities({
      registry: fixture.registry,
      dataDir: fixture.dataDir,
      env: 'local',
      keys: parseErasureKeys(fixture.registry, ['customer_id=C1']),
      online: { client, table: 'replaced' },
    });

    expect(result.offline).toContainEqual({
      source: 'profiles',
      rows: 1,
      files: 1,
      replacedFiles: 1,
    });
    // The merged file and the kept replaced file of C2 (a late reader may still open it).
    expect(await rowsOnDisk(fixture.dataDir, 'profiles', 'customer_id')).toEqual(['C2', 'C2']);
    const keptAfter = (await readManifestState(root))?.replaced.flatMap((e) => e.files) ?? [];
    // Only the replaced file holding C1 left the kept files; the others stay for late readers.
    expect(keptAfter).toHaveLength(keptBefore.length - 1);
    expect(keptBefore).toEqual(expect.arrayContaining(keptAfter));
    for (const file of keptAfter) expect(existsSync(path.join(root, file))).toBe(true);
  }, 120_000);

  it('deletes kept replaced files holding the keys when no committed file holds them any more (a delete that left them), in one commit', async () => {
    const fixture = await offlineFixture(definitions);
    await fixture.ingest('profiles', [{ customer_id: 'C1', age: 30, event_ts: ts }]);
    await fixture.ingest('profiles', [{ customer_id: 'C2', age: 31, event_ts: ts }]);
    await compactStore({ registry: fixture.registry, dataDir: fixture.dataDir, env: 'local' });
    const root = offlineRoot(fixture.dataDir, 'local');
    // What a delete scanning committed files only did: C1 rewritten out of the merged file.
    const session = await openDuckdb();
    try {
      await rewriteCommittedFiles({
        connection: session.connection,
        dataDir: fixture.dataDir,
        env: 'local',
        faultPrefix: 'test',
        plan: async (state) =>
          committedFilesOf(root, 'profiles', state.records).map((file) => ({
            source: 'profiles',
            file,
            keep: `customer_id <> 'C1'`,
            expectedRemoved: 1,
          })),
      });
    } finally {
      session.close();
    }
    expect(await rowsOnDisk(fixture.dataDir, 'profiles', 'customer_id')).toEqual([
      'C1',
      'C2',
      'C2',
    ]);
    const recordsBefore = (await readManifestState(root))?.records;
    await ensureLocalTable(client, 'left-behind');

    const result = await eraseEntities({
      registry: fixture.registry,
      dataDir: fixture.dataDir,
      env: 'local',
      keys: parseErasureKeys(fixture.registry, ['customer_id=C1']),
      online: { client, table: 'left-behind' },
    });

    expect(result.offline).toContainEqual({
      source: 'profiles',
      rows: 0,
      files: 0,
      replacedFiles: 1,
    });
    expect(await rowsOnDisk(fixture.dataDir, 'profiles', 'customer_id')).toEqual(['C2', 'C2']);
    const after = await readManifestState(root);
    expect(after?.records).toEqual(recordsBefore);
    expect(after?.replaced.flatMap((e) => e.files)).toHaveLength(1);
  }, 120_000);
});
