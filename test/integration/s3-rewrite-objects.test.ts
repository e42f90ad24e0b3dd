import { beforeEach, describe, expect, it } from 'vitest';
import { compactionLockKey, compactionRecordKey } from '../../lib/offline/s3-compact-record.ts';
import { acquireS3Lock } from '../../lib/offline/s3-lock.ts';
import { rewriteS3Objects, type S3RewriteOptions } from '../../lib/offline/s3-rewrite-objects.ts';
import {
  ordersDataKey,
  threeIngestIds,
  useS3CompactionFixture,
} from '../helpers/s3-compaction-fixture.ts';

const fixture = useS3CompactionFixture('s3-rewrite-objects');
const [first, second, third] = threeIngestIds;
const keep = `customer_id IS DISTINCT FROM 'C1'`;
/** The three objects holding customer C1 (seqs 1, 13, 22; seq 13 alone in its object). */
const holdingC1 = [
  ordersDataKey('2026-03-01', first),
  ordersDataKey('2026-03-02', second),
  ordersDataKey('2026-03-01', third),
];

beforeEach(async () => {
  fixture.bucket.objects.clear();
  fixture.bucket.versionDeletes.length = 0;
  await fixture.commitThreeIngests();
});

async function rewrite(extra: Partial<S3RewriteOptions>) {
  const lock = await acquireS3Lock({
    s3: fixture.s3,
    bucket: fixture.bucket.name,
    key: compactionLockKey('orders'),
    purpose: 'a test',
    leaseMs: 60_000,
  });
  try {
    return await rewriteS3Objects({
      s3: fixture.s3,
      bucket: fixture.bucket.name,
      region: 'eu-west-1',
      source: 'orders',
      prefix: 'offline/orders/',
      lock,
      rewrites: [],
      remove: [],
      reason: 'entity-delete',
      faultPrefix: 'delete',
      workDir: fixture.scratch,
      backoffMs: 0,
      ...extra,
    });
  } finally {
    await lock.release();
  }
}

describe('rewriteS3Objects (loopback bucket, DuckDB)', () => {
  it('writes the objects again without the rows, commits them with one record, and deletes every version of the old ones', async () => {
    const result = await rewrite({ rewrites: holdingC1.map((key) => ({ key, keep })) });
    expect(result).toMatchObject({ rowsRemoved: 3, objectsRewritten: 3, objectsDeleted: 3 });
    const rows = await fixture.readable();
    // Same rows but C1's, same fstore_seq, read from the new objects where they were rewritten.
    expect(rows.map((r) => Number(r.fstore_seq))).toEqual([2, 3, 11, 12, 21, 23]);
    expect(rows.every((r) => r.customer_id !== 'C1')).toBe(true);
    const record = result.record;
    expect(record).toMatchObject({ kind: 'compaction', replaces: holdingC1 });
    // The object left with no row (seq 13) is not written again.
    expect(record?.files).toHaveLength(2);
    expect(
      JSON.parse(
        fixture.bucket.objects
          .get(compactionRecordKey('orders', record?.ingestId ?? ''))
          ?.toString() ?? '{}',
      ),
    ).toMatchObject({ reason: 'entity-delete', files: record?.files });
    for (const key of holdingC1) expect(fixture.bucket.objects.has(key)).toBe(false);
    expect([...fixture.bucket.versionDeletes].sort()).toEqual([...holdingC1].sort());
    expect(fixture.bucket.absentDeletes).toEqual([]);
  });

  it('a stop request arriving with the commit still deletes the old objects (nothing reads them any more)', async () => {
    const stop = new AbortController();
    fixture.bucket.beforeRequest = (method, key) => {
      if (method === 'PUT' && /\/compactions\/\d/.test(key)) stop.abort(new Error('SIGTERM'));
      return undefined;
    };
    try {
      const result = await rewrite({
        rewrites: holdingC1.map((key) => ({ key, keep })),
        signal: stop.signal,
      });
      expect(stop.signal.aborted).toBe(true);
      expect(result).toMatchObject({ objectsRewritten: 3, objectsDeleted: 3 });
      for (const key of holdingC1) expect(fixture.bucket.objects.has(key)).toBe(false);
    } finally {
      fixture.bucket.beforeRequest = undefined;
    }
  });

  it('deletes objects to remove without rewriting them or writing a record', async () => {
    const leftover = 'offline/orders/dt=2026-03-01/20260104t000000-3d4e5f6a-0.parquet';
    fixture.bucket.objects.set(leftover, await fixture.committedParquet([40]));
    const keys = [...fixture.bucket.objects.keys()];
    const result = await rewrite({ remove: [leftover] });
    expect(result).toEqual({
      rowsRemoved: 0,
      objectsRewritten: 0,
      objectsRewrittenInPlace: 0,
      objectsDeleted: 1,
      versionsDeleted: 1,
    });
    expect([...fixture.bucket.objects.keys()].sort()).toEqual(
      keys.filter((k) => k !== leftover).sort(),
    );
  });

  it('commits nothing and removes its uploads when an object it rewrote is no longer read at the commit', async () => {
    const before = await fixture.readable();
    const keys = [...fixture.bucket.objects.keys()].sort();
    const notRead = 'offline/orders/dt=2026-03-01/20260104t000000-3d4e5f6a-0.parquet';
    fixture.bucket.objects.set(notRead, await fixture.committedParquet([1, 40]));
    await expect(
      rewrite({ rewrites: [...holdingC1, notRead].map((key) => ({ key, keep })) }),
    ).rejects.toThrow(
      /are no longer read .*nothing was committed and this run's uploads are removed/,
    );
    expect([...fixture.bucket.objects.keys()].filter((k) => k !== notRead).sort()).toEqual(keys);
    expect(await fixture.readable()).toEqual(before);
  });
  it('refuses an object whose filter leaves out another number of rows than the count given (Athena’s), naming it, and commits nothing', async () => {
    const before = new Map(fixture.bucket.objects);
    // As when the object's key column is spelled otherwise: its own filter matches no row.
    const missed = holdingC1[1] ?? '';
    await expect(
      rewrite({
        rewrites: holdingC1.map((key) => ({
          key,
          keep: key === missed ? 'TRUE' : keep,
          rows: 1,
        })),
      }),
    ).rejects.toThrow(
      new RegExp(`${missed}.*leaves out 0 of its 1; nothing of source "orders" was committed`),
    );
    expect(new Map(fixture.bucket.objects)).toEqual(before);
  });
  it('writes an object no record names again at its key without the rows, and refuses one another writer changed meanwhile', async () => {
    const inflight = 'offline/orders/dt=2026-03-01/20260104t000000-3d4e5f6a-0.parquet';
    fixture.bucket.objects.set(inflight, await fixture.committedParquet([40, 41]));
    const result = await rewrite({ rewriteInPlace: [{ key: inflight, keep, rows: 1 }] });
    expect(result).toMatchObject({ rowsRemoved: 1, objectsRewrittenInPlace: 1 });
    expect(result.record).toBeUndefined();
    expect(fixture.bucket.objects.has(inflight)).toBe(true);

    const changed = await fixture.committedParquet([43, 44]);
    fixture.bucket.objects.set(inflight, await fixture.committedParquet([40, 42]));
    fixture.bucket.beforeRequest = (method, key) => {
      if (method === 'PUT' && key === inflight) fixture.bucket.objects.set(inflight, changed);
      return undefined;
    };
    try {
      await expect(rewrite({ rewriteInPlace: [{ key: inflight, keep, rows: 1 }] })).rejects.toThrow(
        /changed while it was being written again/,
      );
      expect(fixture.bucket.objects.get(inflight)).toEqual(changed);
    } finally {
      fixture.bucket.beforeRequest = undefined;
    }
  });
});
