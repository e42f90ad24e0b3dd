import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type DuckdbSession, openDuckdb } from '../../lib/offline/duckdb-session.ts';
import { ingestRecordKey } from '../../lib/offline/ingest-records.ts';
import { compactionLockKey } from '../../lib/offline/s3-compact-record.ts';
import { readThroughAthenaRelation } from '../helpers/athena-relation-on-duckdb.ts';
import { makeTempDir, runFstore } from '../helpers/run-fstore.ts';
import { type MemoryBucket, startMemoryBucket } from '../helpers/s3-memory-bucket.ts';

let bucket: MemoryBucket;
let duckdb: DuckdbSession;
let scratch: string;
beforeAll(async () => {
  bucket = await startMemoryBucket('offline-bucket', { pageSize: 3 });
  duckdb = await openDuckdb();
  scratch = await makeTempDir('compact-s3-crash');
});
afterAll(async () => {
  duckdb.close();
  await bucket.close();
});

const ids = ['20260101t000000-0a1b2c3d', '20260102t000000-1b2c3d4e', '20260103t000000-2c3d4e5f'];
const dataKey = (dt: string, id: string) => `offline/orders/dt=${dt}/${id}-0.parquet`;

async function parquet(seqs: number[]): Promise<Buffer> {
  const file = path.join(scratch, `p-${Math.random().toString(16).slice(2)}.parquet`);
  await duckdb.connection.run(
    `COPY (SELECT * FROM (VALUES ${seqs.map((s) => `('C${s % 3}', ${s}.5::DOUBLE, ${s}::BIGINT)`).join(', ')}) t(customer_id, amount, fstore_seq)) TO '${file}' (FORMAT parquet)`,
  );
  return readFile(file);
}

/** Three committed ingests of `orders`, each with an object in two partitions. */
beforeEach(async () => {
  bucket.objects.clear();
  for (const [i, id] of ids.entries()) {
    const files = [dataKey('2026-03-01', id), dataKey('2026-03-02', id)];
    bucket.objects.set(files[0] as string, await parquet([i * 10 + 1, i * 10 + 2]));
    bucket.objects.set(files[1] as string, await parquet([i * 10 + 3]));
    bucket.objects.set(
      ingestRecordKey('orders', String(i).repeat(64), id),
      Buffer.from(
        `${JSON.stringify({ ingestId: id, source: 'orders', sha256: String(i).repeat(64), file: 'x.csv', rows: 3, firstSeq: i * 10 + 1, at: '2026-03-01T00:00:00Z', files })}\n`,
      ),
    );
  }
});

const readable = () =>
  readThroughAthenaRelation(duckdb.connection, {
    objects: bucket.objects,
    bucket: bucket.name,
    source: 'orders',
    scratch,
  });
const rowsOnly = (rows: Record<string, unknown>[]) => rows.map(({ object: _, ...row }) => row);
const compact = (env: Record<string, string> = {}, extra: string[] = []) =>
  runFstore(
    ['--env', 'dev', 'compact', '--source', 'orders', '--bucket', bucket.name, '--json', ...extra],
    { env: { ...bucket.env, ...env } },
  );

describe('fstore compact --env <aws> killed during a real S3 compaction (loopback in-memory bucket)', () => {
  it.each(['compact:s3-after-upload', 'compact:before-commit'])(
    'killed at %s: the readable rows are unchanged, and a re-run completes with the same rows',
    async (point) => {
      const before = await readable();
      expect(before).toHaveLength(9);
      const keys = new Set(bucket.objects.keys());

      const killed = await compact({ FSTORE_FAULT: point });
      expect(killed.code, killed.stdout + killed.stderr).toBeNull();
      // Merged objects were uploaded (no record names them) and nothing committed.
      const left = [...bucket.objects.keys()].filter(
        (k) => !keys.has(k) && k !== compactionLockKey('orders'),
      );
      expect(left.length).toBeGreaterThan(0);
      expect(left.every((k) => k.startsWith('offline/orders/dt='))).toBe(true);
      expect(await readable()).toEqual(before);

      // The killed run never released its lock: a re-run is refused, naming the holder, until
      // its lease expires or the lock is broken by naming that owner.
      const lock = JSON.parse(bucket.objects.get(compactionLockKey('orders'))?.toString() ?? '{}');
      expect(lock).toMatchObject({
        host: hostname(),
        purpose: 'the compaction of source "orders"',
      });
      const refused = await compact();
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(
        `the compaction of source "orders" is already running: the lock s3://${bucket.name}/offline/_ingests/orders/compactions/_lock.json is held by owner ${lock.owner}`,
      );
      expect(refused.stderr).toContain(`--break-lock ${lock.owner}`);
      expect(await readable()).toEqual(before);

      const rerun = await compact({}, ['--break-lock', lock.owner]);
      expect(rerun.code, rerun.stderr).toBe(0);
      const result = JSON.parse(rerun.stdout);
      expect(result.sources[0]).toMatchObject({
        source: 'orders',
        objectsBefore: 6,
        objectsAfter: 2,
        partitions: 2,
      });
      const after = await readable();
      expect(rowsOnly(after)).toEqual(rowsOnly(before));
      // Read from the re-run's merged objects only: neither the killed run's nor the replaced ones.
      expect([...new Set(after.map((r) => String(r.object)))]).toEqual(
        ['2026-03-01', '2026-03-02'].map(
          (dt) =>
            `s3://${bucket.name}/offline/orders/dt=${dt}/${result.sources[0].compactionId}-0.parquet`,
        ),
      );
    },
    120_000,
  );

  it('the dry run after a compaction counts the replaced objects apart, and those past keepUntil as to delete', async () => {
    expect((await compact({ FSTORE_COMPACT_KEEP_REPLACED: '0' })).code).toBe(0);
    const dry = await runFstore(
      ['--env', 'dev', 'compact', '--source', 'orders', '--bucket', bucket.name, '--dry-run'],
      { env: bucket.env },
    );
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(
      'orders: nothing to merge (2 committed objects); 6 objects of uncommitted ingests or replaced by a compaction left alone (no reader reads them); 6 replaced objects past keepUntil would be deleted',
    );
  }, 120_000);

  it('a second run finds nothing to merge and changes nothing', async () => {
    expect((await compact()).code).toBe(0);
    const keys = [...bucket.objects.keys()].sort();
    const again = await compact();
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).sources[0]).toMatchObject({
      objectsBefore: 2,
      objectsAfter: 2,
    });
    expect([...bucket.objects.keys()].sort()).toEqual(keys);
  }, 120_000);

  it('refuses --break-lock without an owner id, with --dry-run, or on a local environment, and changes nothing', async () => {
    const keys = [...bucket.objects.keys()].sort();
    const notAnOwner = await compact({}, ['--break-lock', 'everyone']);
    expect(notAnOwner.code).toBe(2);
    expect(notAnOwner.stderr).toContain(
      `--break-lock must name the lock's owner as the "already running" error shows it (12 hex digits, or "unreadable"); got "everyone"`,
    );
    const dry = await compact({}, ['--dry-run', '--break-lock', '3f2a9c01b7d4']);
    expect(dry.code).toBe(2);
    expect(dry.stderr).toContain('--break-lock has no effect with --dry-run');
    const local = await runFstore(['compact', '--break-lock', '3f2a9c01b7d4'], {
      env: { FSTORE_DATA_DIR: await makeTempDir('compact-break-lock-local') },
    });
    expect(local.code).toBe(2);
    expect(local.stderr).toContain('--break-lock applies to AWS environments');
    expect([...bucket.objects.keys()].sort()).toEqual(keys);
  }, 120_000);
});
