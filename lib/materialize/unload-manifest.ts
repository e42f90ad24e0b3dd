import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { HintedError } from '../hinted-error.ts';
import { listS3Objects, truncatedListing } from '../offline/s3-list-keys.ts';

/**
 * What a sharded run's UNLOAD wrote, recorded by the run controller when the query succeeded
 * (issue 21): per shard, its objects' count, bytes and a digest of their keys and sizes. The
 * objects expire (the offline bucket's `expire-materialize-unload` rule), so a resumed run
 * checks its folder against this record instead of reading an emptied folder as a shard of
 * no rows. Counts, not keys: the record lives in the view's state item, which every shard
 * checkpoint rewrites (a key list would make each of those writes cost tens of write units).
 */

/** An UNLOAD output that does not read back (damaged, expired, or not this run's). */
export class UnloadedShardError extends HintedError {
  override name = 'UnloadedShardError';
}

export interface UnloadedObject {
  readonly key: string;
  readonly size: number;
}

/** One shard's part of the UNLOAD: none (0 objects) when no entity hashed into it. */
export interface UnloadedShard {
  readonly objects: number;
  readonly bytes: number;
  /** sha256 (first 16 hex digits) of the objects' keys under the shard folder and sizes. */
  readonly digest: string;
}

export interface UnloadManifest {
  /** The run's UNLOAD folder the record is of. */
  readonly prefix: string;
  readonly recordedAt: string;
  /** Every shard of the run, by index (a shard missing here was never recorded). */
  readonly shards: Readonly<Record<string, UnloadedShard>>;
}

/** A shard's folder under its run's UNLOAD folder. */
export const shardFolder = (unloadPrefix: string, shard: number) =>
  `${unloadPrefix}fstore_shard=${shard}/`;

/**
 * The objects under `prefix`, every page of the listing (listS3Objects), in key order; no
 * empty objects or folder markers. An S3 error is thrown as S3 gave it; a truncated page
 * without a continuation token, which would make a folder look short, is refused.
 */
export async function listUnloadObjects(
  s3: S3Client,
  bucket: string,
  prefix: string,
): Promise<UnloadedObject[]> {
  const listed = await listS3Objects(s3, bucket, prefix, (error, doing) =>
    error === undefined
      ? new UnloadedShardError(
          `${doing} ${truncatedListing}`,
          'run again; if it persists, the endpoint does not speak ListObjectsV2 as S3 does',
        )
      : error instanceof Error
        ? error
        : new UnloadedShardError(`${doing} failed: ${String(error)}`, undefined),
  );
  return listed
    .filter((object) => !object.key.endsWith('/') && object.bytes > 0)
    .map((object) => ({ key: object.key, size: object.bytes }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** The record of one shard's objects (`folder` is the shard's folder they are under). */
export function summarizeShard(folder: string, objects: readonly UnloadedObject[]): UnloadedShard {
  const hash = createHash('sha256');
  for (const object of objects) hash.update(`${object.key.slice(folder.length)}\t${object.size}\n`);
  return {
    objects: objects.length,
    bytes: objects.reduce((sum, object) => sum + object.size, 0),
    digest: hash.digest('hex').slice(0, 16),
  };
}

/** Lists a succeeded UNLOAD's folder and records each of the run's `shards` shards. */
export async function recordUnload(
  s3: S3Client,
  bucket: string,
  prefix: string,
  shards: number,
  now: () => number,
): Promise<UnloadManifest> {
  const objects = await listUnloadObjects(s3, bucket, prefix);
  const record: Record<string, UnloadedShard> = {};
  for (let shard = 0; shard < shards; shard++) {
    const folder = shardFolder(prefix, shard);
    record[shard] = summarizeShard(
      folder,
      objects.filter((o) => o.key.startsWith(folder)),
    );
  }
  return { prefix, recordedAt: new Date(now()).toISOString(), shards: record };
}

/**
 * Refuses, naming the folder, what is missing and the way out, when a shard's objects are not
 * those the UNLOAD wrote (fewer after the expiry rule or a delete, or replaced).
 */
export function checkShardObjects(
  bucket: string,
  folder: string,
  expected: UnloadedShard | undefined,
  listed: readonly UnloadedObject[],
  manifest: Pick<UnloadManifest, 'recordedAt'>,
): void {
  const where = `s3://${bucket}/${folder}`;
  const hint =
    'start the state machine again: the new execution finds the output incomplete and unloads the run again (shards already done stay done; rows written twice change nothing)';
  if (!expected)
    throw new UnloadedShardError(
      `the run has no record of what its UNLOAD wrote under ${where}; nothing was written`,
      hint,
    );
  const found = summarizeShard(folder, listed);
  if (found.digest === expected.digest && found.objects === expected.objects) return;
  const what =
    found.objects < expected.objects
      ? `holds ${found.objects} of the ${expected.objects} objects (${found.bytes} of ${expected.bytes} bytes)`
      : `holds ${found.objects} objects (${found.bytes} bytes), not the ${expected.objects} (${expected.bytes} bytes)`;
  throw new UnloadedShardError(
    `${where} ${what} the run's UNLOAD wrote (recorded ${manifest.recordedAt}): they expired (lifecycle rule expire-materialize-unload) or were deleted or replaced; nothing was written`,
    hint,
  );
}

/** Whether each of `shards` still holds what the UNLOAD wrote (a resumed run's test). */
export async function unloadIntact(
  s3: S3Client,
  bucket: string,
  manifest: UnloadManifest,
  shards: readonly number[],
): Promise<boolean> {
  if (shards.length === 0) return true;
  const objects = await listUnloadObjects(s3, bucket, manifest.prefix);
  return shards.every((shard) => {
    const expected = manifest.shards[shard];
    const folder = shardFolder(manifest.prefix, shard);
    const found = summarizeShard(
      folder,
      objects.filter((o) => o.key.startsWith(folder)),
    );
    return expected !== undefined && expected.digest === found.digest;
  });
}
