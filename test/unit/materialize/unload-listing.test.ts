import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { listUnloadObjects, UnloadedShardError } from '../../../lib/materialize/unload-manifest.ts';

const s3 = mockClient(S3Client);
const prefix = 'materialize-unload/run-1/';

describe("listing a sharded run's UNLOAD folder", () => {
  afterEach(() => s3.reset());

  it('reads every page and keeps the objects with bytes, in key order', async () => {
    s3.on(ListObjectsV2Command, { ContinuationToken: undefined }).resolves({
      IsTruncated: true,
      NextContinuationToken: 'page-2',
      Contents: [
        { Key: `${prefix}fstore_shard=1/b.gz`, Size: 20 },
        { Key: `${prefix}fstore_shard=1/`, Size: 0 },
      ],
    });
    s3.on(ListObjectsV2Command, { ContinuationToken: 'page-2' }).resolves({
      IsTruncated: false,
      Contents: [
        { Key: `${prefix}fstore_shard=0/a.gz`, Size: 10 },
        { Key: `${prefix}fstore_shard=0/empty.gz`, Size: 0 },
      ],
    });
    expect(await listUnloadObjects(new S3Client({}), 'bucket', prefix)).toEqual([
      { key: `${prefix}fstore_shard=0/a.gz`, size: 10 },
      { key: `${prefix}fstore_shard=1/b.gz`, size: 20 },
    ]);
  });

  it('refuses a truncated page without a continuation token instead of reading a short folder', async () => {
    s3.on(ListObjectsV2Command).resolves({
      IsTruncated: true,
      Contents: [{ Key: `${prefix}fstore_shard=0/a.gz`, Size: 10 }],
    });
    const listing = listUnloadObjects(new S3Client({}), 'bucket', prefix);
    await expect(listing).rejects.toBeInstanceOf(UnloadedShardError);
    await expect(listing).rejects.toThrow(/truncated page without a continuation token/);
  });

  it('passes an S3 error on as S3 gave it', async () => {
    const denied = Object.assign(new Error('Access Denied'), { name: 'AccessDenied' });
    s3.on(ListObjectsV2Command).rejects(denied);
    await expect(listUnloadObjects(new S3Client({}), 'bucket', prefix)).rejects.toThrow(
      'Access Denied',
    );
  });
});
