import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { deleteEveryVersion } from '../offline/s3-object-versions.ts';
import { type ListedVersion, listVersionsUnder } from '../offline/s3-version-listing.ts';
import type { ErasureKey } from './erasure-keys.ts';
import { type QuarantineErasure, quarantineLineHoldsKey } from './quarantine-erasure.ts';

/**
 * Materialization's quarantine (`quarantine/<view>/<run>/…jsonl`) and the stream functions'
 * (`quarantine/_stream/<source>/<day>/…jsonl`) in the offline bucket: the materialize Lambda's
 * default QUARANTINE_PREFIX.
 */
export const s3QuarantinePrefix = 'quarantine/';

export interface S3QuarantineErasureOptions {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly keys: readonly ErasureKey[];
  readonly dryRun: boolean;
  readonly signal?: AbortSignal;
  readonly backoffMs?: number;
}

/**
 * Removes the quarantined rows of `keys` from the bucket, every version of every `.jsonl` object
 * under `quarantine/` read (the bucket is versioned: an earlier version holds the rows too).
 * An object whose current version holds some (quarantineLineHoldsKey, the local rule) is written
 * again without them, or deleted with all its versions when none is left; then, for any object
 * with a version holding them, its noncurrent versions are deleted (deleteEveryVersion). A rerun
 * after a crash between the write and that delete finds the old version by the same listing and
 * deletes it. `file` in the result is the key below `quarantine/` and the rows its current
 * version held. With `dryRun`, only counts. Objects are read whole: quarantine parts are small.
 */
export async function eraseS3QuarantinedRows(
  options: S3QuarantineErasureOptions,
): Promise<QuarantineErasure[]> {
  const found: QuarantineErasure[] = [];
  const byKey = new Map<string, { id: string; latest: boolean }[]>();
  for (const version of await quarantineVersions(options))
    byKey.set(version.key, [...(byKey.get(version.key) ?? []), version]);
  for (const [key, versions] of byKey) {
    let holds = false;
    let current: { kept: string[]; removed: number } | undefined;
    for (const version of versions) {
      options.signal?.throwIfAborted();
      const response = await options.s3.send(
        new GetObjectCommand({ Bucket: options.bucket, Key: key, VersionId: version.id }),
      );
      const split = splitLines(
        (await response.Body?.transformToString('utf8')) ?? '',
        options.keys,
      );
      if (split.removed > 0) holds = true;
      if (version.latest) current = split;
    }
    if (!holds) continue;
    if (current && current.removed > 0)
      found.push({ file: key.slice(s3QuarantinePrefix.length), rows: current.removed });
    if (options.dryRun) continue;
    const every = {
      s3: options.s3,
      bucket: options.bucket,
      keys: [key],
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.backoffMs !== undefined ? { backoffMs: options.backoffMs } : {}),
    };
    if (current && current.removed > 0 && current.kept.length === 0) {
      await deleteEveryVersion(every);
      continue;
    }
    if (current && current.removed > 0)
      await options.s3.send(
        new PutObjectCommand({
          Bucket: options.bucket,
          Key: key,
          Body: `${current.kept.join('\n')}\n`,
          ContentType: 'application/x-ndjson',
        }),
      );
    await deleteEveryVersion({ ...every, keepCurrent: current !== undefined });
  }
  return found;
}

function splitLines(
  text: string,
  keys: readonly ErasureKey[],
): { kept: string[]; removed: number } {
  const kept: string[] = [];
  let removed = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (quarantineLineHoldsKey(line, keys)) removed++;
    else kept.push(line);
  }
  return { kept, removed };
}

/**
 * Every version of the `.jsonl` objects under `quarantine/` (delete markers hold no rows); a
 * truncated listing page without a next marker is refused before anything is changed.
 */
async function quarantineVersions(options: S3QuarantineErasureOptions): Promise<ListedVersion[]> {
  const versions = await listVersionsUnder(options.s3, options.bucket, s3QuarantinePrefix);
  return versions.filter((v) => v.key.endsWith('.jsonl'));
}
