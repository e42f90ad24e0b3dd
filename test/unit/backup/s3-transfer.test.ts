import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { ExportError } from '../../../lib/backup/export-manifest.ts';
import { listAllObjects, uploadFile } from '../../../lib/backup/s3-transfer.ts';
import { makeTempDir } from '../../helpers/run-fstore.ts';

const s3 = mockClient(S3Client);
const client = new S3Client({ region: 'eu-west-1' });
beforeEach(() => s3.reset());

const slowDown = () =>
  new S3ServiceException({
    name: 'SlowDown',
    $fault: 'server',
    $metadata: { httpStatusCode: 503 },
    message: 'Please reduce your request rate.',
  });

describe('listAllObjects', () => {
  it('follows continuation tokens across pages, keeping sizes and unquoted ETags', async () => {
    s3.on(ListObjectsV2Command, { Prefix: 'offline/' })
      .resolvesOnce({
        IsTruncated: true,
        NextContinuationToken: 't1',
        Contents: [{ Key: 'offline/a', Size: 1, ETag: '"e1"' }],
      })
      .resolvesOnce({
        IsTruncated: false,
        Contents: [{ Key: 'offline/b', Size: 2, ETag: '"e2"' }],
      });
    expect(await listAllObjects(client, 'bucket', 'offline/')).toEqual([
      { key: 'offline/a', bytes: 1, etag: 'e1' },
      { key: 'offline/b', bytes: 2, etag: 'e2' },
    ]);
    expect(s3.commandCalls(ListObjectsV2Command)[1]?.args[0].input.ContinuationToken).toBe('t1');
  });

  it('refuses a truncated page without a continuation token instead of exporting part of the bucket', async () => {
    s3.on(ListObjectsV2Command).resolves({ IsTruncated: true, Contents: [] });
    await expect(listAllObjects(client, 'bucket', 'offline/')).rejects.toThrow(
      'answered a truncated page without a continuation token',
    );
  });

  it('says S3 is throttling when SlowDown outlasts the SDK retries, and that a rerun resumes', async () => {
    s3.on(ListObjectsV2Command).rejects(slowDown());
    const error = await listAllObjects(client, 'bucket', 'offline/').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExportError);
    expect((error as ExportError).message).toContain(
      'listing s3://bucket/offline/ failed: SlowDown',
    );
    expect((error as ExportError).hint).toContain('throttling');
  });
});

describe('uploadFile', () => {
  it('streams the file with its length, and names the object when the put fails', async () => {
    const file = path.join(await makeTempDir('upload'), 'x.parquet');
    await writeFile(file, 'abc');
    s3.on(PutObjectCommand).resolvesOnce({}).rejects(slowDown());
    await uploadFile(client, 'bucket', 'offline/x.parquet', file);
    expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input.ContentLength).toBe(3);
    await expect(uploadFile(client, 'bucket', 'offline/y.parquet', file)).rejects.toThrow(
      'writing s3://bucket/offline/y.parquet failed: SlowDown',
    );
  });
});
