import { existsSync } from 'node:fs';
import { cp, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../lib/definitions/index.ts';
import { microsOfMillis } from '../../lib/epoch-micros.ts';
import { affectedSources, parseErasureKeys } from '../../lib/erasure/erasure-keys.ts';
import { eraseOfflineRows } from '../../lib/erasure/offline-erasure.ts';
import { openDuckdb, queryRows } from '../../lib/offline/duckdb-session.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { applyRetention } from '../../lib/offline/retention.ts';
import { sortedCopiesDir } from '../../lib/offline/sorted-copy.ts';
import { quoteLiteral } from '../../lib/sql/dialect.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const orders = defineSource({
  name: 'orders',
  schema: { customer_id: 'string', amount: 'float64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
  retention: '10d',
});
const latestOrder = defineFeatureView({
  name: 'latest_order',
  entities: [customer],
  source: orders,
  features: { amount: 'float64' },
  ttl: '10d',
});

const now = Date.parse('2026-03-20T12:00:00Z');

async function copyNames(dataDir: string): Promise<string[]> {
  const dir = sortedCopiesDir(offlineRoot(dataDir, 'local'), 'orders');
  return (await readdir(dir).catch(() => [] as string[]))
    .filter((n) => n.endsWith('.parquet'))
    .sort();
}

/** The names one copy and its key dictionary have, taken from the first copy in `names`. */
function oneCopyAndItsKeys(names: readonly string[]): string[] {
  const copy = names.find((n) => !n.endsWith('.keys.parquet')) ?? 'no copy';
  return [copy.replace(/\.parquet$/, '.keys.parquet'), copy].sort();
}

/** Rows of `customerId` in any Parquet file under the source's sorted-copies folder. */
async function copyRowsOf(dataDir: string, customerId: string): Promise<number> {
  const dir = sortedCopiesDir(offlineRoot(dataDir, 'local'), 'orders');
  const names = await copyNames(dataDir);
  const session = await openDuckdb();
  try {
    let rows = 0;
    for (const name of names) {
      const [found] = await queryRows(
        session.connection,
        `SELECT count(*) AS n FROM read_parquet(${quoteLiteral(path.join(dir, name))}) WHERE customer_id = ${quoteLiteral(customerId)}`,
      );
      rows += Number(found?.n ?? 0);
    }
    return rows;
  } finally {
    session.close();
  }
}

/** Orders of C1, all older than the retention, and of others, older and recent: two ingests. */
async function populated() {
  const fixture = await offlineFixture([customer, orders, latestOrder]);
  await fixture.ingest(
    'orders',
    Array.from({ length: 400 }, (_, i) => ({
      customer_id: i % 4 === 0 ? 'C1' : `C${2 + (i % 7)}`,
      amount: i,
      event_ts: new Date(Date.parse('2026-03-01T00:00:00Z') + i * 60_000).toISOString(),
    })),
  );
  await fixture.ingest(
    'orders',
    Array.from({ length: 400 }, (_, i) => ({
      customer_id: `C${2 + (i % 7)}`,
      amount: i,
      event_ts: new Date(Date.parse('2026-03-15T00:00:00Z') + i * 60_000).toISOString(),
    })),
  );
  return fixture;
}

const retention = (fixture: Awaited<ReturnType<typeof populated>>) =>
  applyRetention({
    registry: fixture.registry,
    dataDir: fixture.dataDir,
    env: 'local',
    pins: [],
    nowMicros: microsOfMillis(now),
    keepReplacedMs: 0,
  });

async function eraseC1(fixture: Awaited<ReturnType<typeof populated>>) {
  const session = await openDuckdb();
  try {
    const keys = parseErasureKeys(fixture.registry, ['customer_id=C1']);
    return await eraseOfflineRows(
      session.connection,
      fixture.dataDir,
      'local',
      affectedSources(fixture.registry, keys),
      keys,
    );
  } finally {
    session.close();
  }
}

describe('sorted copies and deleted rows', () => {
  it('keeps no copy holding rows retention deleted', async () => {
    const fixture = await populated();
    expect(await copyRowsOf(fixture.dataDir, 'C1')).toBeGreaterThan(0);
    const result = await retention(fixture);
    expect(result.sources[0]?.rowsDeleted).toBeGreaterThan(0);
    expect(result.warnings).toEqual([]);
    expect(await copyRowsOf(fixture.dataDir, 'C1')).toBe(0);
    // The copy of the rows left is still there and read.
    expect(await copyNames(fixture.dataDir)).toEqual(
      oneCopyAndItsKeys(await copyNames(fixture.dataDir)),
    );
  });

  it('removes a copy holding rows of the erased keys even when no committed file holds them any more', async () => {
    const fixture = await populated();
    const dir = sortedCopiesDir(offlineRoot(fixture.dataDir, 'local'), 'orders');
    const aside = path.join(fixture.dataDir, 'aside');
    await cp(dir, aside, { recursive: true });
    await retention(fixture);
    // As a retention killed between its commit and removing the copies before leaves them.
    await cp(aside, dir, { recursive: true });
    expect(await copyRowsOf(fixture.dataDir, 'C1')).toBeGreaterThan(0);

    const erased = await eraseC1(fixture);
    expect(erased.sources).toEqual([{ source: 'orders', rows: 0, files: 0 }]);
    expect(await copyRowsOf(fixture.dataDir, 'C1')).toBe(0);
    // The copy of the committed rows stays: it holds none of the keys.
    expect(await copyNames(fixture.dataDir)).toEqual(
      oneCopyAndItsKeys(await copyNames(fixture.dataDir)),
    );
  });
});

describe('a sorted copy that cannot be read', () => {
  it('is removed when the copy is written again (a damaged file, or one of another format version, is never read)', async () => {
    const fixture = await populated();
    const dir = sortedCopiesDir(offlineRoot(fixture.dataDir, 'local'), 'orders');
    const [name] = await copyNames(fixture.dataDir);
    const bytes = await readFile(path.join(dir, name ?? ''));
    const damaged = path.join(dir, '0000000000000000.parquet');
    await writeFile(damaged, bytes.subarray(0, Math.floor(bytes.length / 2)));

    const again = await fixture.ingest(
      'orders',
      Array.from({ length: 800 }, (_, i) => ({
        customer_id: `C${i % 9}`,
        amount: i,
        event_ts: new Date(Date.parse('2026-03-18T00:00:00Z') + i * 60_000).toISOString(),
      })),
    );
    expect(again.sortedCopyWritten).toBe(true);
    expect(existsSync(damaged)).toBe(false);
  });
});

describe('a key dictionary whose copy is gone (a kill between removing the copy and its dictionary)', () => {
  /** The current copy's dictionary again under a name no copy has, as such a kill leaves it. */
  async function orphanDictionary(fixture: Awaited<ReturnType<typeof populated>>) {
    const dir = sortedCopiesDir(offlineRoot(fixture.dataDir, 'local'), 'orders');
    const keys = (await copyNames(fixture.dataDir)).find((n) => n.endsWith('.keys.parquet'));
    const orphan = path.join(dir, '0000000000000000.keys.parquet');
    await cp(path.join(dir, keys ?? 'none'), orphan);
    return orphan;
  }

  it('is removed by an ingest that does not write the copy again', async () => {
    const fixture = await populated();
    const orphan = await orphanDictionary(fixture);
    const small = await fixture.ingest('orders', [
      { customer_id: 'C2', amount: 1, event_ts: '2026-03-16T00:00:00Z' },
    ]);
    expect(small.sortedCopyWritten).toBe(false);
    expect(existsSync(orphan)).toBe(false);
  });

  it('holding an erased key, is removed by the erasure', async () => {
    const fixture = await populated();
    const orphan = await orphanDictionary(fixture);
    await eraseC1(fixture);
    expect(existsSync(orphan)).toBe(false);
    expect(await copyRowsOf(fixture.dataDir, 'C1')).toBe(0);
  });
});
