import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { s3IngestLog } from '../../../lib/materialize/s3-ingest-log.ts';

const s3 = mockClient(S3Client);
const sha = 'b'.repeat(64);
const body = (text: string) => ({ Body: { transformToString: async () => text } as never });
const record = (ingestId: string, firstSeq: number, rows: number, files?: string[]) =>
  JSON.stringify({
    ingestId,
    source: 'orders',
    sha256: sha,
    file: 'x.csv',
    rows,
    firstSeq,
    at: 'x',
    ...(files ? { files } : {}),
  });

describe('the commit points of an AWS offline store, as the materializer reads them', () => {
  beforeEach(() => s3.reset());

  it('lists every page, reads only records the coverage does not settle, and times them by S3', async () => {
    const legacy = `offline/_ingests/orders/${sha}.json`;
    const named = `offline/_ingests/orders/${sha}/20260301t000000-0000000a.json`;
    const fresh = `offline/_ingests/orders/${sha}/20260301t010000-0000000b.json`;
    s3.on(ListObjectsV2Command)
      .resolvesOnce({
        Contents: [{ Key: legacy, LastModified: new Date(1_000) }],
        IsTruncated: true,
        NextContinuationToken: 'page-2',
      })
      .resolvesOnce({
        Contents: [
          { Key: named, LastModified: new Date(50_000) },
          { Key: fresh, LastModified: new Date(60_000) },
        ],
      });
    s3.on(GetObjectCommand, { Key: fresh }).resolves(
      body(
        record('20260301t010000-0000000b', 500, 20, [
          'offline/orders/dt=2026-03-01/20260301t010000-0000000b-0.parquet',
        ]),
      ),
    );
    const ingests = await s3IngestLog(new S3Client({}), 'bucket').committedIngests('orders', {
      settledBeforeMs: 10_000,
      ingestIds: ['20260301t000000-0000000a'],
    });
    expect(s3.commandCalls(ListObjectsV2Command).map((c) => c.args[0].input)).toEqual([
      { Bucket: 'bucket', Prefix: 'offline/_ingests/orders/' },
      { Bucket: 'bucket', Prefix: 'offline/_ingests/orders/', ContinuationToken: 'page-2' },
    ]);
    expect(s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input.Key)).toEqual([fresh]);
    expect(ingests?.at(-1)).toEqual({
      ingestId: '20260301t010000-0000000b',
      firstSeq: 500,
      rows: 20,
      committedAtMs: 60_000,
      days: ['2026-03-01'],
    });
  });

  it('skips compaction records (their rows are committed already, with the same fstore_seq) and still sees later ingests', async () => {
    const compaction = 'offline/_ingests/orders/compactions/20260301t020000-0000000c.json';
    const moved = `offline/_ingests/orders/${sha}/20260301t020001-0000000d.json`;
    const later = `offline/_ingests/orders/${sha}/20260301t030000-0000000e.json`;
    s3.on(ListObjectsV2Command).resolves({
      Contents: [
        { Key: compaction, LastModified: new Date(70_000) },
        { Key: moved, LastModified: new Date(71_000) },
        { Key: later, LastModified: new Date(80_000) },
      ],
    });
    const compactionRecord = (ingestId: string) =>
      JSON.stringify({
        kind: 'compaction',
        ingestId,
        source: 'orders',
        at: 'x',
        keepUntil: 'y',
        files: ['offline/orders/dt=2026-03-01/20260301t020000-0000000c-0.parquet'],
        replaces: ['offline/orders/dt=2026-03-01/20260301t010000-0000000b-0.parquet'],
      });
    s3.on(GetObjectCommand, { Key: compaction }).resolves(
      body(compactionRecord('20260301t020000-0000000c')),
    );
    // A compaction record found elsewhere (copied by hand) is told apart by its content.
    s3.on(GetObjectCommand, { Key: moved }).resolves(
      body(compactionRecord('20260301t020001-0000000d')),
    );
    s3.on(GetObjectCommand, { Key: later }).resolves(
      body(record('20260301t030000-0000000e', 900, 5)),
    );
    const ingests = await s3IngestLog(new S3Client({}), 'bucket').committedIngests('orders', {
      settledBeforeMs: 10_000,
      ingestIds: [],
    });
    expect(s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input.Key)).toEqual([
      moved,
      later,
    ]);
    expect(ingests).toEqual([
      { ingestId: '20260301t030000-0000000e', firstSeq: 900, rows: 5, committedAtMs: 80_000 },
    ]);
  });

  it('reads every record when there is no coverage yet, and refuses one without its sequence range, naming it', async () => {
    const key = `offline/_ingests/orders/${sha}.json`;
    s3.on(ListObjectsV2Command).resolves({ Contents: [{ Key: key, LastModified: new Date(1) }] });
    s3.on(GetObjectCommand).resolves(body('{"ingestId":"x","rows":3}'));
    await expect(
      s3IngestLog(new S3Client({}), 'bucket').committedIngests('orders'),
    ).rejects.toThrow(`the ingest record s3://bucket/${key} lacks ingestId, firstSeq or rows`);
  });

  it('reads the records of a first run in parallel, at most `reads` at a time, keeping the listing order', async () => {
    const keys = Array.from(
      { length: 100 },
      (_, i) => `offline/_ingests/orders/${sha}/20260301t000000-${String(i).padStart(8, '0')}.json`,
    );
    s3.on(ListObjectsV2Command)
      .resolvesOnce({
        Contents: keys.slice(0, 60).map((Key, i) => ({ Key, LastModified: new Date(i) })),
        IsTruncated: true,
        NextContinuationToken: 'page-2',
      })
      .resolvesOnce({
        Contents: keys.slice(60).map((Key, i) => ({ Key, LastModified: new Date(60 + i) })),
      });
    let inFlight = 0;
    let most = 0;
    s3.on(GetObjectCommand).callsFake(async (input: { Key: string }) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 1 + (keys.indexOf(input.Key) % 3)));
      inFlight--;
      const index = keys.indexOf(input.Key);
      return body(record(`20260301t000000-${String(index).padStart(8, '0')}`, index * 10, 10));
    });
    const ingests = await s3IngestLog(new S3Client({}), 'bucket', { reads: 8 }).committedIngests(
      'orders',
    );
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(100);
    expect(most).toBe(8);
    expect(ingests?.map((i) => i.firstSeq)).toEqual(keys.map((_, i) => i * 10));
    expect(ingests?.map((i) => i.committedAtMs)).toEqual(keys.map((_, i) => i));
  });

  it('names the record whose GetObject failed, and starts no more reads after it', async () => {
    const keys = Array.from(
      { length: 50 },
      (_, i) => `offline/_ingests/orders/${sha}/20260301t000000-${String(i).padStart(8, '0')}.json`,
    );
    s3.on(ListObjectsV2Command).resolves({
      Contents: keys.map((Key) => ({ Key, LastModified: new Date(1) })),
    });
    s3.on(GetObjectCommand).resolves(body(record('x', 1, 1)));
    s3.on(GetObjectCommand, { Key: keys[3] }).rejects(new Error('Access Denied'));
    await expect(
      s3IngestLog(new S3Client({}), 'bucket', { reads: 2 }).committedIngests('orders'),
    ).rejects.toThrow(`reading the ingest record s3://bucket/${keys[3]} failed: Access Denied`);
    expect(s3.commandCalls(GetObjectCommand).length).toBeLessThan(10);
  });
});
