import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFstore } from '../helpers/run-fstore.ts';
import { type MemoryBucket, startMemoryBucket } from '../helpers/s3-memory-bucket.ts';

let bucket: MemoryBucket;
beforeAll(async () => {
  bucket = await startMemoryBucket('offline-bucket');
});
afterAll(async () => {
  await bucket.close();
});

describe('fstore compact --env <aws> --dry-run with pushed rows Firehose staged (loopback bucket)', () => {
  it('counts the staged objects, their bytes, the oldest and the delivery errors per source, and reads or writes no object', async () => {
    const prefix = 'offline/_push/orders/arrived=2026-03-01/';
    bucket.objects.set(
      `${prefix}fstore-dev-push-orders-1-2026-03-01-12-00-00-a.parquet`,
      Buffer.alloc(1000),
    );
    bucket.objects.set(
      `${prefix}fstore-dev-push-orders-1-2026-03-01-12-01-00-b.parquet`,
      Buffer.alloc(500),
    );
    bucket.modified.set(
      `${prefix}fstore-dev-push-orders-1-2026-03-01-12-00-00-a.parquet`,
      new Date('2026-03-01T12:00:05Z'),
    );
    bucket.modified.set(
      `${prefix}fstore-dev-push-orders-1-2026-03-01-12-01-00-b.parquet`,
      new Date('2026-03-01T12:01:05Z'),
    );
    bucket.objects.set(
      'offline/_push-errors/orders/format-conversion-failed/arrived=2026-03-01/x',
      Buffer.from('{}'),
    );
    const keys = [...bucket.objects.keys()].sort();
    bucket.requests.length = 0;
    const json = await runFstore(
      [
        '--env',
        'dev',
        'compact',
        '--source',
        'orders',
        '--bucket',
        bucket.name,
        '--dry-run',
        '--json',
      ],
      { env: bucket.env },
    );
    expect(json.code, json.stderr).toBe(0);
    const out = JSON.parse(json.stdout);
    expect(out.sources[0].staged).toEqual({
      objects: 2,
      bytes: 1500,
      oldest: '2026-03-01T12:00:05.000Z',
      errorObjects: 1,
      refusedObjects: 0,
    });
    const text = await runFstore(
      ['--env', 'dev', 'compact', '--source', 'orders', '--bucket', bucket.name, '--dry-run'],
      { env: bucket.env },
    );
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(
      /orders: 2 staged pushed objects \(1\.5 KiB\) would be ingested first, the oldest from 2026-03-01T12:00:05\.000Z; 1 object Firehose could not deliver waits under offline\/_push-errors\/orders\//,
    );
    expect(bucket.requests.filter((r) => r !== 'LIST' && !r.includes('_ingests'))).toEqual([]);
    expect([...bucket.objects.keys()].sort()).toEqual(keys);
  });
});
