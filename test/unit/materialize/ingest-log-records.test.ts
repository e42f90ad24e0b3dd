import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { manifestIngestLog } from '../../../lib/materialize/manifest-ingest-log.ts';
import { s3IngestLog } from '../../../lib/materialize/s3-ingest-log.ts';

const sha = 'c'.repeat(64);
const line = (fields: Record<string, unknown>) =>
  JSON.stringify({ source: 'orders', file: 'x.csv', sha256: sha, rows: 1, firstSeq: 0, ...fields });

describe('the local store’s commit points (_ingests.jsonl)', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'fstore-ingest-log-'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('gives the ingests of the asked source only, in commit order, with their partitions when known', async () => {
    await writeFile(
      path.join(root, '_ingests.jsonl'),
      [
        line({
          ingestId: 'a',
          firstSeq: 1,
          rows: 3,
          at: '2026-03-01T00:00:00.250Z',
          files: ['orders/dt=2026-03-02/a-0.parquet', 'orders/dt=2026-03-01/a-1.parquet'],
        }),
        line({ ingestId: 'p', source: 'profiles', at: '2026-03-01T00:00:01Z' }),
        line({ ingestId: 'b', firstSeq: 4, rows: 2, at: '2026-03-01T00:00:02Z' }),
      ].join('\n'),
    );
    const log = manifestIngestLog(root);
    expect(log.seqInCommitOrder).toBe(true);
    expect(await log.committedIngests('orders')).toEqual([
      {
        ingestId: 'a',
        firstSeq: 1,
        rows: 3,
        committedAtMs: Date.parse('2026-03-01T00:00:00.250Z'),
        days: ['2026-03-01', '2026-03-02'],
      },
      { ingestId: 'b', firstSeq: 4, rows: 2, committedAtMs: Date.parse('2026-03-01T00:00:02Z') },
    ]);
    expect(await log.committedIngests('customers')).toEqual([]);
  });

  it('has no commit points when nothing was ever ingested (no manifest)', async () => {
    expect(await manifestIngestLog(root).committedIngests('orders')).toBeUndefined();
  });

  it('refuses a record whose commit time does not parse, naming the ingest and the text', async () => {
    await writeFile(path.join(root, '_ingests.jsonl'), line({ ingestId: 'a', at: 'yesterday' }));
    await expect(manifestIngestLog(root).committedIngests('orders')).rejects.toThrow(
      'ingest a in _ingests.jsonl has no valid commit time: yesterday',
    );
  });
});

describe('the AWS store’s commit points (ingest records in S3)', () => {
  const s3 = mockClient(S3Client);
  beforeEach(() => s3.reset());
  const body = (text: string) => ({ Body: { transformToString: async () => text } as never });
  const prefix = 'offline/_ingests/orders/';

  it('skips listed objects that are not records or have no time, and reads the rest', async () => {
    const good = `${prefix}${sha}/20260301t000000-0000000a.json`;
    s3.on(ListObjectsV2Command).resolves({
      Contents: [
        { Key: `${prefix}${sha}/20260301t000000-0000000a.json.tmp`, LastModified: new Date(1) },
        { Key: `${prefix}${sha}/no-time.json` },
        { Key: good, LastModified: new Date(7) },
      ],
    });
    s3.on(GetObjectCommand).resolves(body(line({ ingestId: 'a', firstSeq: 0, rows: 0, at: 'x' })));
    const ingests = await s3IngestLog(new S3Client({}), 'bucket').committedIngests('orders');
    expect(s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input)).toEqual([
      { Bucket: 'bucket', Key: good },
    ]);
    expect(ingests).toEqual([{ ingestId: 'a', firstSeq: 0, rows: 0, committedAtMs: 7 }]);
  });

  it('takes a settled legacy record (no id in its key) without reading it, keyed by its key', async () => {
    const legacy = `${prefix}${sha}.json`;
    s3.on(ListObjectsV2Command).resolves({
      Contents: [{ Key: legacy, LastModified: new Date(5) }],
    });
    const ingests = await s3IngestLog(new S3Client({}), 'bucket').committedIngests('orders', {
      settledBeforeMs: 6,
      ingestIds: [],
    });
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
    expect(ingests).toEqual([{ ingestId: legacy, firstSeq: 0, rows: 0, committedAtMs: 5 }]);
  });

  it('reads a record committed at the settle instant itself (settled means strictly before)', async () => {
    const key = `${prefix}${sha}/20260301t000000-0000000a.json`;
    s3.on(ListObjectsV2Command).resolves({ Contents: [{ Key: key, LastModified: new Date(6) }] });
    s3.on(GetObjectCommand).resolves(body(line({ ingestId: 'a', firstSeq: 3, rows: 1, at: 'x' })));
    await s3IngestLog(new S3Client({}), 'bucket').committedIngests('orders', {
      settledBeforeMs: 6,
      ingestIds: ['someone-else'],
    });
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(1);
  });

  it.each([
    ['not JSON', 'not json {', 'is not JSON'],
    ['an empty body', '', 'is not JSON'],
    ['a negative first sequence number', line({ ingestId: 'a', firstSeq: -1 }), 'lacks ingestId'],
    [
      'a fractional first sequence number',
      line({ ingestId: 'a', firstSeq: 1.5 }),
      'lacks ingestId',
    ],
    ['a row count that is not an integer', line({ ingestId: 'a', rows: '3' }), 'lacks ingestId'],
    ['no ingest id', line({ ingestId: 7 }), 'lacks ingestId, firstSeq or rows'],
  ])('refuses a record with %s, naming its S3 address', async (_, text, message) => {
    const key = `${prefix}${sha}/20260301t000000-0000000a.json`;
    s3.on(ListObjectsV2Command).resolves({ Contents: [{ Key: key, LastModified: new Date(1) }] });
    s3.on(GetObjectCommand).resolves(body(text));
    await expect(
      s3IngestLog(new S3Client({}), 'bucket').committedIngests('orders'),
    ).rejects.toThrow(`the ingest record s3://bucket/${key} ${message}`);
  });

  it('keeps the JSON parser’s error as the cause of a record that is not JSON', async () => {
    const key = `${prefix}${sha}.json`;
    s3.on(ListObjectsV2Command).resolves({ Contents: [{ Key: key, LastModified: new Date(1) }] });
    s3.on(GetObjectCommand).resolves(body('{'));
    const error = await s3IngestLog(new S3Client({}), 'bucket')
      .committedIngests('orders')
      .catch((e: unknown) => e);
    expect((error as Error).cause).toBeInstanceOf(SyntaxError);
  });
});
