import { describe, expect, it } from 'vitest';
import { useS3CompactionFixture } from '../helpers/s3-compaction-fixture.ts';

const fixture = useS3CompactionFixture('compact-s3-dry-run-pushed');

describe('fstore compact --env <aws> --dry-run with pushed rows Firehose staged (loopback bucket)', () => {
  it('counts the staged objects, their bytes, the oldest and the delivery errors per source, and reads or writes no object', async () => {
    const prefix = 'offline/_push/orders/arrived=2026-03-01/';
    fixture.bucket.objects.set(
      `${prefix}fstore-dev-push-orders-1-2026-03-01-12-00-00-a.parquet`,
      Buffer.alloc(1000),
    );
    fixture.bucket.objects.set(
      `${prefix}fstore-dev-push-orders-1-2026-03-01-12-01-00-b.parquet`,
      Buffer.alloc(500),
    );
    fixture.bucket.modified.set(
      `${prefix}fstore-dev-push-orders-1-2026-03-01-12-00-00-a.parquet`,
      new Date('2026-03-01T12:00:05Z'),
    );
    fixture.bucket.modified.set(
      `${prefix}fstore-dev-push-orders-1-2026-03-01-12-01-00-b.parquet`,
      new Date('2026-03-01T12:01:05Z'),
    );
    fixture.bucket.objects.set(
      'offline/_push-errors/orders/format-conversion-failed/arrived=2026-03-01/x',
      Buffer.from('{}'),
    );
    const keys = [...fixture.bucket.objects.keys()].sort();
    fixture.bucket.requests.length = 0;
    const json = await fixture.compact(['--dry-run', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const out = JSON.parse(json.stdout);
    expect(out.sources[0].staged).toEqual({
      objects: 2,
      bytes: 1500,
      oldest: '2026-03-01T12:00:05.000Z',
      errorObjects: 1,
      refusedObjects: 0,
    });
    const text = await fixture.compact(['--dry-run']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(
      /orders: 2 staged pushed objects \(1\.5 KiB\) would be ingested first, the oldest from 2026-03-01T12:00:05\.000Z; 1 object Firehose could not deliver waits under offline\/_push-errors\/orders\//,
    );
    expect(fixture.bucket.requests.filter((r) => r !== 'LIST' && !r.includes('_ingests'))).toEqual(
      [],
    );
    expect([...fixture.bucket.objects.keys()].sort()).toEqual(keys);
  });
});
