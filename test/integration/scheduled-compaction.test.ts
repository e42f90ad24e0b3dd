import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type DuckdbSession, openDuckdb } from '../../lib/offline/duckdb-session.ts';
import { compactionLockKey } from '../../lib/offline/s3-compact-record.ts';
import { acquireS3Lock } from '../../lib/offline/s3-lock.ts';
import {
  runScheduledCompaction,
  type ScheduledCompactionOptions,
} from '../../lib/offline/scheduled-compaction.ts';
import { pushRegistry } from '../helpers/push-registry.ts';
import { makeTempDir } from '../helpers/run-fstore.ts';
import {
  type MemoryBucket,
  memoryBucketClient,
  startMemoryBucket,
} from '../helpers/s3-memory-bucket.ts';
import { stagePushObject } from '../helpers/staged-push-objects.ts';

const registry = pushRegistry();
let bucket: MemoryBucket;
let s3: S3Client;
let duckdb: DuckdbSession;
let scratch: string;
beforeAll(async () => {
  bucket = await startMemoryBucket('offline-bucket', { pageSize: 3 });
  s3 = memoryBucketClient(bucket);
  duckdb = await openDuckdb();
  scratch = await makeTempDir('scheduled-compaction');
});
afterAll(async () => {
  duckdb.close();
  await bucket.close();
});
beforeEach(() => {
  bucket.objects.clear();
  bucket.modified.clear();
  bucket.beforeRequest = undefined;
});

const stage = (
  source: 'payments' | 'audit',
  name: string,
  rows: { pushId: string; customer: string; amount?: number }[],
) => stagePushObject({ bucket, duckdb: duckdb.connection, scratch }, source, name, rows);

const run = (extra: Partial<ScheduledCompactionOptions> = {}) =>
  runScheduledCompaction({
    s3,
    bucket: bucket.name,
    region: 'eu-west-1',
    registry,
    targetBytes: 128 * 1024 * 1024,
    keepReplacedMs: 3_600_000,
    remainingMs: () => 600_000,
    reserveMs: 60_000,
    workDir: scratch,
    now: () => new Date('2026-03-01T01:00:00Z'),
    ...extra,
  });

const keys = (prefix: string) =>
  [...bucket.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
const ingestRecords = (source: string) =>
  keys(`offline/_ingests/${source}/`).filter((k) => !k.includes('/compactions/'));

describe('scheduled compaction of pushed rows (the push-compaction function)', () => {
  it('ingests what every source staged, then reports nothing left and no staged age', async () => {
    await stage('payments', 'a', [{ pushId: 'p1', customer: 'C1' }]);
    await stage('audit', 'b', [{ pushId: 'p2', customer: 'C2' }]);
    const result = await run();
    expect(result.sources).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          source: 'payments',
          status: 'done',
          pushed: expect.objectContaining({ rows: 1, objects: 1 }),
        }),
        expect.objectContaining({
          source: 'audit',
          status: 'done',
          pushed: expect.objectContaining({ rows: 1, objects: 1 }),
        }),
      ]),
    );
    expect(ingestRecords('payments')).toHaveLength(1);
    expect(ingestRecords('audit')).toHaveLength(1);
    expect(keys('offline/_push/payments/arrived=')).toEqual([]);
    expect(result.staged.every((s) => s.objects === 0)).toBe(true);
    expect(result.oldestStagedAgeSeconds).toBeUndefined();
  });

  it('a source whose staged object the ingest refuses sets it aside and is done; the other source is ingested and the refused object counted', async () => {
    await stage('payments', 'bad', [{ pushId: 'p1', customer: 'C1', amount: 20_000 }]);
    await stage('audit', 'ok', [{ pushId: 'p2', customer: 'C2' }]);
    const result = await run();
    const payments = result.sources.find((s) => s.source === 'payments');
    expect(payments?.status).toBe('done');
    expect(payments?.status === 'done' && payments.pushed.refused).toEqual([
      { key: expect.stringMatching(/bad\.parquet$/), reason: expect.stringMatching(/amount/) },
    ]);
    expect(result.sources.find((s) => s.source === 'audit')?.status).toBe('done');
    expect(ingestRecords('audit')).toHaveLength(1);
    expect(ingestRecords('payments')).toEqual([]);
    expect(keys('offline/_push/payments/arrived=')).toEqual([]);
    expect(result.staged.find((s) => s.source === 'payments')).toMatchObject({
      objects: 0,
      refusedObjects: 1,
    });
    // Nothing waits any more: the refused object no longer holds the age alarm up.
    expect(result.oldestStagedAgeSeconds).toBeUndefined();
    expect(keys(compactionLockKey('payments'))).toEqual([]);
  });

  it('sets aside at most maxSetAside objects of a source per run, then stops that source and reports it; the rest wait for the next run', async () => {
    for (const name of ['x', 'y', 'z'])
      await stage('payments', name, [{ pushId: `p-${name}`, customer: 'C1', amount: 20_000 }]);
    const result = await run({ maxSetAside: 2 });
    const payments = result.sources.find((s) => s.source === 'payments');
    expect(payments).toMatchObject({
      status: 'done',
      pushed: { setAsideCapReached: true, refused: [expect.anything(), expect.anything()] },
    });
    expect(keys('offline/_push/payments/arrived=')).toHaveLength(1);
    expect(result.staged.find((s) => s.source === 'payments')).toMatchObject({
      objects: 1,
      refusedObjects: 2,
    });
  });

  it('with its time short while halving a refused batch, leaves the batch staged and pauses the source', async () => {
    await stage('payments', 'a', [{ pushId: 'p1', customer: 'C1' }]);
    await stage('payments', 'bad', [{ pushId: 'p2', customer: 'C2', amount: 20_000 }]);
    // Enough time to start the source, short once its first batch was refused.
    let calls = 0;
    const result = await run({ remainingMs: () => (++calls <= 2 ? 600_000 : 30_000) });
    expect(result.sources.find((s) => s.source === 'payments')).toMatchObject({
      status: 'paused',
    });
    expect(keys('offline/_push/payments/arrived=')).toHaveLength(2);
    expect(keys('offline/_push/payments/_refused/')).toEqual([]);
  });

  it('a source another run holds the lock of is busy and untouched; the others run', async () => {
    await stage('payments', 'a', [{ pushId: 'p1', customer: 'C1' }]);
    await stage('audit', 'b', [{ pushId: 'p2', customer: 'C2' }]);
    const held = await acquireS3Lock({
      s3,
      bucket: bucket.name,
      key: compactionLockKey('payments'),
      purpose: 'an overlapping scheduled run',
      leaseMs: 600_000,
    });
    try {
      const result = await run();
      expect(result.sources.find((s) => s.source === 'payments')).toMatchObject({
        status: 'busy',
        message: expect.stringMatching(/already running/),
      });
      expect(result.sources.find((s) => s.source === 'audit')?.status).toBe('done');
      expect(keys('offline/_push/payments/arrived=')).toHaveLength(1);
      expect(ingestRecords('payments')).toEqual([]);
    } finally {
      await held.release();
    }
  });

  it('stops taking batches when the time left gets short, and the next run continues where it stopped', async () => {
    for (const name of ['a', 'b', 'c'])
      await stage('payments', name, [{ pushId: `p-${name}`, customer: 'C1' }]);
    let left = 600_000;
    // Each ingest record written costs a minute of this run's time.
    bucket.beforeRequest = (method, key) => {
      if (method === 'PUT' && /^offline\/_ingests\/payments\/[0-9a-f]{64}\//.test(key))
        left -= 250_000;
      return undefined;
    };
    const first = await run({ maxObjects: 1, remainingMs: () => left, reserveMs: 200_000 });
    expect(first.sources.find((s) => s.source === 'payments')).toMatchObject({
      status: 'paused',
      pushed: { batches: 2, objects: 2 },
    });
    expect(first.sources.find((s) => s.source === 'audit')?.status).toBe('skipped');
    expect(keys('offline/_push/payments/arrived=')).toHaveLength(1);
    expect(first.staged.find((s) => s.source === 'payments')?.objects).toBe(1);
    bucket.beforeRequest = undefined;
    const second = await run({ maxObjects: 1 });
    expect(second.sources.find((s) => s.source === 'payments')).toMatchObject({
      status: 'done',
      pushed: { objects: 1 },
    });
    expect(ingestRecords('payments')).toHaveLength(3);
    expect(keys('offline/_push/payments/arrived=')).toEqual([]);
  });

  it('with too little time from the start, skips every source and changes nothing', async () => {
    await stage('payments', 'a', [{ pushId: 'p1', customer: 'C1' }]);
    const before = [...bucket.objects.keys()].sort();
    const result = await run({ remainingMs: () => 10_000 });
    expect(result.sources.map((s) => s.status)).toEqual(['skipped', 'skipped']);
    expect([...bucket.objects.keys()].sort()).toEqual(before);
  });

  it('counts the objects Firehose could not deliver under offline/_push-errors/, per source', async () => {
    bucket.objects.set(
      'offline/_push-errors/payments/format-conversion-failed/arrived=2026-03-01/x',
      Buffer.from('{}'),
    );
    bucket.objects.set(
      'offline/_push-errors/payments/format-conversion-failed/arrived=2026-03-01/y',
      Buffer.from('{}'),
    );
    const result = await run();
    expect(result.staged.map((s) => [s.source, s.errorObjects])).toEqual(
      expect.arrayContaining([
        ['payments', 2],
        ['audit', 0],
      ]),
    );
  });
});
