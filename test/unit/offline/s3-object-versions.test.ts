import {
  DeleteObjectsCommand,
  type DeleteObjectsCommandInput,
  ListObjectVersionsCommand,
  type ListObjectVersionsCommandInput,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  deleteEveryVersion,
  S3VersionDeleteError,
} from '../../../lib/offline/s3-object-versions.ts';

const s3 = mockClient(S3Client);
const client = new S3Client({ region: 'us-east-1' });
const bucket = 'offline-bucket';

interface Version {
  readonly Key: string;
  readonly VersionId: string;
  readonly IsLatest: boolean;
  readonly marker?: boolean;
}

/**
 * A versioned bucket's versions, answered `pageSize` entries a page (versions and delete markers
 * count alike, markers as S3 pages them), and every DeleteObjects batch it was sent, in order.
 */
function versionedBucket(versions: Version[], pageSize = 2) {
  const held = [...versions];
  const batches: { Key: string; VersionId?: string }[][] = [];
  s3.on(ListObjectVersionsCommand).callsFake(async (input: ListObjectVersionsCommandInput) => {
    const all = held
      .filter((v) => v.Key.startsWith(input.Prefix ?? ''))
      .sort((a, b) => a.Key.localeCompare(b.Key) || a.VersionId.localeCompare(b.VersionId));
    const after = all.findIndex(
      (v) => v.Key === input.KeyMarker && v.VersionId === input.VersionIdMarker,
    );
    const page = all.slice(after + 1, after + 1 + pageSize);
    const more = after + 1 + pageSize < all.length;
    const last = page.at(-1);
    return {
      Versions: page
        .filter((v) => !v.marker)
        .map(({ Key, VersionId, IsLatest }) => ({ Key, VersionId, IsLatest })),
      DeleteMarkers: page
        .filter((v) => v.marker)
        .map(({ Key, VersionId, IsLatest }) => ({ Key, VersionId, IsLatest })),
      IsTruncated: more,
      ...(more && last ? { NextKeyMarker: last.Key, NextVersionIdMarker: last.VersionId } : {}),
    };
  });
  s3.on(DeleteObjectsCommand).callsFake(async (input: DeleteObjectsCommandInput) => {
    const batch = (input.Delete?.Objects ?? []).map((o) => ({
      Key: o.Key ?? '',
      ...(o.VersionId ? { VersionId: o.VersionId } : {}),
    }));
    batches.push(batch);
    for (const o of batch) {
      const at = held.findIndex((v) => v.Key === o.Key && v.VersionId === o.VersionId);
      if (at >= 0) held.splice(at, 1);
    }
    return {};
  });
  return { held, batches };
}

const a = 'offline/orders/dt=2026-03-01/20260101t000000-0a1b2c3d-0.parquet';
const b = 'offline/orders/dt=2026-03-01/20260102t000000-1b2c3d4e-0.parquet';
// Shares a's key as a prefix: must not be touched.
const aLonger = `${a}.bak`;

beforeEach(() => s3.reset());

describe('deleteEveryVersion', () => {
  it('deletes every version and delete marker of the keys through all listing pages, by VersionId, the current version after the others', async () => {
    const bucketState = versionedBucket([
      { Key: a, VersionId: 'a1', IsLatest: false },
      { Key: a, VersionId: 'a2', IsLatest: false, marker: true },
      { Key: a, VersionId: 'a3', IsLatest: true },
      { Key: aLonger, VersionId: 'x1', IsLatest: true },
      { Key: b, VersionId: 'b1', IsLatest: true },
    ]);
    const result = await deleteEveryVersion({ s3: client, bucket, keys: [a, b] });
    expect(result).toEqual({ objects: 2, versions: 4 });
    expect(bucketState.held).toEqual([{ Key: aLonger, VersionId: 'x1', IsLatest: true }]);
    // Never a plain delete (which would only add a delete marker on a versioned bucket).
    expect(bucketState.batches.flat().every((o) => o.VersionId !== undefined)).toBe(true);
    // Noncurrent versions first: a crash between the two leaves the current one, which
    // Athena still finds, so a rerun deletes what is left.
    const [first, second] = bucketState.batches;
    expect(first?.map((o) => o.VersionId).sort()).toEqual(['a1', 'a2']);
    expect(second?.map((o) => o.VersionId).sort()).toEqual(['a3', 'b1']);
  });

  it('with keepCurrent deletes only the older versions and delete markers of an object written again', async () => {
    const bucketState = versionedBucket([
      { Key: a, VersionId: 'a1', IsLatest: false },
      { Key: a, VersionId: 'a2', IsLatest: false, marker: true },
      { Key: a, VersionId: 'a3', IsLatest: true },
    ]);
    expect(await deleteEveryVersion({ s3: client, bucket, keys: [a], keepCurrent: true })).toEqual({
      objects: 1,
      versions: 2,
    });
    expect(bucketState.held).toEqual([{ Key: a, VersionId: 'a3', IsLatest: true }]);
  });

  it('finds nothing to do for keys already gone, and succeeds (a rerun after a crash)', async () => {
    const bucketState = versionedBucket([{ Key: aLonger, VersionId: 'x1', IsLatest: true }]);
    expect(await deleteEveryVersion({ s3: client, bucket, keys: [a] })).toEqual({
      objects: 0,
      versions: 0,
    });
    expect(bucketState.batches).toEqual([]);
  });

  it('retries versions DeleteObjects answered SlowDown for (HTTP 200 per-key errors), then succeeds', async () => {
    const bucketState = versionedBucket([
      { Key: a, VersionId: 'a1', IsLatest: true },
      { Key: b, VersionId: 'b1', IsLatest: true },
    ]);
    let refusals = 0;
    s3.on(DeleteObjectsCommand).callsFake(async (input: DeleteObjectsCommandInput) => {
      const batch = input.Delete?.Objects ?? [];
      bucketState.batches.push(batch.map((o) => ({ Key: o.Key ?? '', VersionId: o.VersionId })));
      const errors = [];
      for (const o of batch) {
        if (o.Key === b && refusals < 2) {
          refusals++;
          errors.push({ Key: b, VersionId: 'b1', Code: 'SlowDown', Message: 'Reduce your rate' });
          continue;
        }
        const at = bucketState.held.findIndex(
          (v) => v.Key === o.Key && v.VersionId === o.VersionId,
        );
        if (at >= 0) bucketState.held.splice(at, 1);
      }
      return { Errors: errors };
    });
    const result = await deleteEveryVersion({ s3: client, bucket, keys: [a, b], backoffMs: 0 });
    expect(result).toEqual({ objects: 2, versions: 2 });
    expect(bucketState.held).toEqual([]);
    expect(bucketState.batches.map((batch) => batch.map((o) => o.Key))).toEqual([[a, b], [b], [b]]);
  });

  it('throws naming the versions S3 kept (AccessDenied is not retried); those deleted stay deleted', async () => {
    const bucketState = versionedBucket([
      { Key: a, VersionId: 'a1', IsLatest: true },
      { Key: b, VersionId: 'b1', IsLatest: true },
    ]);
    s3.on(DeleteObjectsCommand).callsFake(async (input: DeleteObjectsCommandInput) => {
      bucketState.held.splice(
        bucketState.held.findIndex((v) => v.Key === a),
        1,
      );
      expect(input.Delete?.Objects).toHaveLength(2);
      return {
        Errors: [{ Key: b, VersionId: 'b1', Code: 'AccessDenied', Message: 'Access Denied' }],
      };
    });
    const failure = deleteEveryVersion({ s3: client, bucket, keys: [a, b], backoffMs: 0 });
    await expect(failure).rejects.toBeInstanceOf(S3VersionDeleteError);
    await expect(failure).rejects.toThrow(
      `S3 kept 1 of 2 object versions it was asked to delete in s3://${bucket}: ${b} version b1 (AccessDenied: Access Denied)`,
    );
    expect(s3.commandCalls(DeleteObjectsCommand)).toHaveLength(1);
    expect(bucketState.held.map((v) => v.Key)).toEqual([b]);
  });

  it('refuses a truncated listing page without a marker rather than miss versions', async () => {
    s3.on(ListObjectVersionsCommand).resolves({
      Versions: [{ Key: a, VersionId: 'a1', IsLatest: true }],
      IsTruncated: true,
    });
    await expect(deleteEveryVersion({ s3: client, bucket, keys: [a] })).rejects.toThrow(
      /truncated page without a next marker/,
    );
    expect(s3.commandCalls(DeleteObjectsCommand)).toHaveLength(0);
  });
});
