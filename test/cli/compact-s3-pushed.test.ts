import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { queryRows } from '../../lib/offline/duckdb-session.ts';
import { useS3CompactionFixture } from '../helpers/s3-compaction-fixture.ts';

const fixture = useS3CompactionFixture('compact-s3-pushed');

/** An object as the orders stream's conversion writes it (staging table columns; microsecond times). */
const staged = (rows: [order: string, pushId: string, row: number][]) =>
  fixture.stagedParquet(
    rows.map(([orderId, pushId, row]) => ({ orderId, pushId, row, amount: 10.25, created: true })),
  );

describe('fstore compact --env <aws> with pushed rows Firehose staged (loopback bucket)', () => {
  it('commits them as an ingest of the source before merging, each (push id, row) once, and says so', async () => {
    const prefix = 'offline/_push/orders/arrived=2026-03-01/';
    fixture.bucket.objects.set(
      `${prefix}fstore-dev-push-orders-1-2026-03-01-12-00-00-a.parquet`,
      await staged([
        ['O1', 'p1', 0],
        ['O2', 'p1', 1],
      ]),
    );
    fixture.bucket.objects.set(
      `${prefix}fstore-dev-push-orders-1-2026-03-01-12-01-00-b.parquet`,
      await staged([['O2', 'p1', 1]]),
    );
    const result = await fixture.compact(['--json']);
    expect(result.code, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout);
    expect(out.sources[0].pushed).toMatchObject({ objects: 2, rows: 2, duplicates: 1 });
    const records = [...fixture.bucket.objects.keys()].filter(
      (k) => k.startsWith('offline/_ingests/orders/') && !k.includes('/compactions/'),
    );
    expect(records).toHaveLength(1);
    const record = JSON.parse(
      fixture.bucket.objects.get(records[0] ?? '')?.toString('utf8') ?? '{}',
    ) as {
      files: string[];
    };
    const local = path.join(fixture.scratch, 'committed.parquet');
    await writeFile(local, fixture.bucket.objects.get(record.files[0] ?? '') ?? Buffer.alloc(0));
    const rows = await queryRows(
      fixture.duckdb.connection,
      `SELECT order_id, strftime(event_ts, '%Y-%m-%d %H:%M:%S.%f') AS at FROM read_parquet('${local}') ORDER BY fstore_seq`,
    );
    expect(rows).toEqual([
      { order_id: 'O1', at: '2026-03-01 12:00:00.123456' },
      { order_id: 'O2', at: '2026-03-01 12:00:00.123456' },
    ]);
    expect(record.files[0]).toMatch(/^offline\/orders\/dt=2026-03-01\//);
    expect(
      [...fixture.bucket.objects.keys()].filter((k) =>
        k.startsWith('offline/_push/orders/arrived='),
      ),
    ).toEqual([]);
  });
});
