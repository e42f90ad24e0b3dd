import {
  ListObjectVersionsCommand,
  type ListObjectVersionsCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { HintedError } from '../hinted-error.ts';

/** Named explicitly: bundles are minified, which renames classes. */
export class S3VersionListingError extends HintedError {
  override name = 'S3VersionListingError';
}

/** One version of an object (delete markers hold no data and are not listed). */
export interface ListedVersion {
  readonly key: string;
  readonly id: string;
  /** The current version (a key whose newest entry is a delete marker has none). */
  readonly latest: boolean;
}

/**
 * Every data version of every object under `prefix` of a versioned bucket, through every page
 * of ListObjectVersions. A truncated page without a next marker is refused: versions would be
 * missed, and a caller erasing rows must not report done.
 */
export async function listVersionsUnder(
  s3: S3Client,
  bucket: string,
  prefix: string,
): Promise<ListedVersion[]> {
  const found: ListedVersion[] = [];
  let keyMarker: string | undefined;
  let versionMarker: string | undefined;
  for (;;) {
    const page: ListObjectVersionsCommandOutput = await s3.send(
      new ListObjectVersionsCommand({
        Bucket: bucket,
        Prefix: prefix,
        ...(keyMarker !== undefined ? { KeyMarker: keyMarker } : {}),
        ...(versionMarker !== undefined ? { VersionIdMarker: versionMarker } : {}),
      }),
    );
    for (const v of page.Versions ?? [])
      if (v.Key && v.VersionId)
        found.push({ key: v.Key, id: v.VersionId, latest: v.IsLatest === true });
    if (!page.IsTruncated) return found;
    if (page.NextKeyMarker === undefined)
      throw new S3VersionListingError(
        `listing the versions under s3://${bucket}/${prefix} answered a truncated page without a next marker; nothing was changed, as some versions would be missed`,
        'run again; if it persists, the endpoint does not speak ListObjectVersions as S3 does',
      );
    keyMarker = page.NextKeyMarker;
    versionMarker = page.NextVersionIdMarker;
  }
}

/** `versions` grouped by key, in key order. */
export function versionsByKey(versions: readonly ListedVersion[]): Map<string, ListedVersion[]> {
  const byKey = new Map<string, ListedVersion[]>();
  for (const v of [...versions].sort((a, b) => a.key.localeCompare(b.key)))
    byKey.set(v.key, [...(byKey.get(v.key) ?? []), v]);
  return byKey;
}
