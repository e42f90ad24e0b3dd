import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { compactionRecordKey } from '../../lib/offline/s3-compact-record.ts';
import { applyS3Retention, type S3RetentionOptions } from '../../lib/offline/s3-retention.ts';
import { boundaryRewriteIn, tenDaysOfOrders } from '../helpers/orders-retention-options.ts';
import { useS3CompactionFixture } from '../helpers/s3-compaction-fixture.ts';

const fixture = useS3CompactionFixture('s3-retention-boundary');
const now = Date.parse('2026-03-20T12:00:00Z');
const ids = ['20260309t000000-0a1b2c3d', '20260310t000000-1b2c3d4e', '20260311t000000-2c3d4e5f'];
const key = (dt: string, id: string, n = 0) => `offline/orders/dt=${dt}/${id}-${n}.parquet`;
// Boundary: 10 days before now, 2026-03-10T12:00:00Z.
const mixed = key('2026-03-10', ids[1] as string, 0);
const newer = key('2026-03-10', ids[1] as string, 1);

/** Parquet of `orders` rows (customer, event time, seq). */
async function parquet(rows: readonly [string, number][]): Promise<Buffer> {
  const file = path.join(fixture.scratch, `r-${Math.random().toString(16).slice(2)}.parquet`);
  await fixture.duckdb.connection.run(
    `COPY (SELECT * FROM (VALUES ${rows.map(([ts, seq]) => `('C1', TIMESTAMP '${ts}', ${seq}::BIGINT)`).join(', ')}) t(customer_id, event_ts, fstore_seq)) TO '${file}' (FORMAT parquet)`,
  );
  return readFile(file);
}

beforeEach(async () => {
  fixture.bucket.objects.clear();
  fixture.bucket.versionDeletes.length = 0;
  await fixture.commitIngest(0, ids[0] as string, [[key('2026-03-09', ids[0] as string), [1]]]);
  await fixture.commitIngest(1, ids[1] as string, [
    [mixed, [2, 3]],
    [newer, [4]],
  ]);
  await fixture.commitIngest(2, ids[2] as string, [[key('2026-03-11', ids[2] as string), [5]]]);
  fixture.bucket.objects.set(
    key('2026-03-09', ids[0] as string),
    await parquet([['2026-03-09 08:00:00', 1]]),
  );
  fixture.bucket.objects.set(
    mixed,
    await parquet([
      ['2026-03-10 06:00:00', 2],
      ['2026-03-10 18:00:00', 3],
    ]),
  );
  fixture.bucket.objects.set(newer, await parquet([['2026-03-10 13:00:00', 4]]));
  fixture.bucket.objects.set(
    key('2026-03-11', ids[2] as string),
    await parquet([['2026-03-11 01:00:00', 5]]),
  );
});

const retain = (extra: Partial<S3RetentionOptions> = {}) =>
  applyS3Retention(
    tenDaysOfOrders(fixture.s3, fixture.bucket.name, now, {
      boundaryRewrite: boundaryRewriteIn(fixture.scratch),
      ...extra,
    }),
  );

const seqsRead = async () => (await fixture.readable()).map((r) => Number(r.fstore_seq));

describe('S3 retention with the boundary day rewritten (rewriteS3Objects under the same lock)', () => {
  it('deletes the days before the boundary whole, and the boundary day’s older rows by one commit', async () => {
    expect(await seqsRead()).toEqual([1, 2, 3, 4, 5]);
    const result = await retain();
    expect(result).toMatchObject({
      partitionsDeleted: ['dt=2026-03-09'],
      boundaryRowsDeleted: 1,
      boundaryObjectsRewritten: 1,
    });
    expect(await seqsRead()).toEqual([3, 4, 5]);
    // The object with no older row is left as it is; the rewritten one goes with its versions.
    expect(fixture.bucket.objects.has(newer)).toBe(true);
    expect(fixture.bucket.objects.has(mixed)).toBe(false);
    expect(fixture.bucket.versionDeletes).toEqual([mixed]);
    const records = [...fixture.bucket.objects.keys()].filter((k) =>
      k.startsWith(compactionRecordKey('orders', '').replace(/\.json$/, '')),
    );
    expect(records).toHaveLength(1);
    expect(
      JSON.parse(fixture.bucket.objects.get(records[0] as string)?.toString() ?? '{}'),
    ).toMatchObject({ reason: 'retention', replaces: [mixed] });
  });

  it('keeps the rows a snapshot pins: an object all pinned stays, one with pinned and unpinned rows keeps only the pinned', async () => {
    const id = '20260312t000000-3d4e5f60';
    const straddling = key('2026-03-08', id);
    await fixture.commitIngest(3, id, [[straddling, [6, 7]]]);
    fixture.bucket.objects.set(
      straddling,
      await parquet([
        ['2026-03-08 01:00:00', 6],
        ['2026-03-08 02:00:00', 7],
      ]),
    );
    const result = await retain({ pins: [{ snapshot: 'v1', source: 'orders', throughSeq: 6n }] });
    // Seq 1 (dt=2026-03-09) and 6 are pinned, 2 is pinned at the boundary; only 7 is not.
    expect(await seqsRead()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(result).toMatchObject({
      objectsDeleted: 0,
      objectsKept: 1,
      keptFor: ['v1'],
      boundaryRowsDeleted: 1,
      boundaryObjectsRewritten: 1,
    });
    expect(fixture.bucket.objects.has(key('2026-03-09', ids[0] as string))).toBe(true);
    expect(fixture.bucket.objects.has(straddling)).toBe(false);
    // Forced, the pinned rows older than the retention go too.
    await retain({ pins: [{ snapshot: 'v1', source: 'orders', throughSeq: 6n }], force: true });
    expect(await seqsRead()).toEqual([3, 4, 5]);
  });

  it('a second run changes nothing more (no commit when no row is older)', async () => {
    await retain();
    const keys = [...fixture.bucket.objects.keys()].sort();
    const again = await retain();
    expect(again).toMatchObject({
      objectsDeleted: 0,
      boundaryRowsDeleted: 0,
      boundaryObjectsRewritten: 0,
    });
    expect([...fixture.bucket.objects.keys()].sort()).toEqual(keys);
  });

  it('a dry run rewrites nothing', async () => {
    const before = new Map(fixture.bucket.objects);
    const result = await retain({ dryRun: true });
    expect(result.boundaryRowsDeleted).toBeUndefined();
    expect(new Map(fixture.bucket.objects)).toEqual(before);
  });
});
