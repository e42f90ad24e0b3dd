import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { S3IngestTarget } from '../../../lib/offline/s3-ingest-target.ts';

// The S3 requests of S3IngestTarget itself: what it lists, uploads and deletes. The ingest
// through it is tested in s3-ingest-target.test.ts.
const s3 = mockClient(S3Client);
const target = () => new S3IngestTarget(new S3Client({ region: 'eu-west-1' }), 'offline-bucket');
const sha256 = 'ab'.repeat(32);

describe('S3IngestTarget requests (aws-sdk-client-mock)', () => {
  beforeEach(() => s3.reset());

  it('describes itself as the bucket’s offline/ prefix', () => {
    expect(target().description).toBe('s3://offline-bucket/offline/');
  });

  it('finds no ingest when the listing has no Contents, as S3 answers an empty listing', async () => {
    s3.on(ListObjectsV2Command).resolves({ KeyCount: 0, IsTruncated: false });
    expect(await target().findIngest('orders', sha256)).toBeUndefined();
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
  });

  it('reads only a .json key under the content’s prefix as its record', async () => {
    s3.on(ListObjectsV2Command).resolves({
      Contents: [{ Key: `offline/_ingests/orders/${sha256}/notes.txt` }],
    });
    expect(await target().findIngest('orders', sha256)).toBeUndefined();
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
  });

  it('deletes the objects of a failed ingest in quiet batches of at most 1,000 keys', async () => {
    s3.on(DeleteObjectsCommand).resolves({});
    const urls = (n: number) =>
      Array.from(
        { length: n },
        (_, i) => `s3://offline-bucket/offline/orders/dt=2026-03-01/x-${i}.parquet`,
      );
    await target().discard(urls(1000));
    const one = s3.commandCalls(DeleteObjectsCommand).map((c) => c.args[0].input);
    expect(one).toHaveLength(1);
    expect(one[0]?.Delete?.Quiet).toBe(true);
    expect(one[0]?.Delete?.Objects?.[999]).toEqual({
      Key: 'offline/orders/dt=2026-03-01/x-999.parquet',
    });

    s3.reset();
    s3.on(DeleteObjectsCommand).resolves({});
    await target().discard(urls(1001));
    const batches = s3.commandCalls(DeleteObjectsCommand).map((c) => c.args[0].input);
    expect(batches.map((b) => b.Delete?.Objects?.length)).toEqual([1000, 1]);
    expect(batches[1]?.Delete?.Objects).toEqual([
      { Key: 'offline/orders/dt=2026-03-01/x-1000.parquet' },
    ]);
  });

  describe('publish', () => {
    let staging: string;
    afterEach(() => rm(staging, { recursive: true, force: true }));

    it('uploads each staged file as a Parquet object of its size under offline/<source>/<partition>/', async () => {
      staging = await mkdtemp(path.join(tmpdir(), 'fstore-s3-publish-'));
      await mkdir(path.join(staging, 'dt=2026-03-01'));
      await writeFile(path.join(staging, 'dt=2026-03-01', 'i-0.parquet'), 'PAR1xyz');
      s3.on(PutObjectCommand).resolves({});
      expect(await target().publish('orders', staging)).toEqual([
        's3://offline-bucket/offline/orders/dt=2026-03-01/i-0.parquet',
      ]);
      const [put] = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
      expect(put).toMatchObject({
        Bucket: 'offline-bucket',
        Key: 'offline/orders/dt=2026-03-01/i-0.parquet',
        ContentLength: 7,
        ContentType: 'application/vnd.apache.parquet',
      });
    });
  });
});
