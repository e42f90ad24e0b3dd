import {
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';

/** One object of a listing: its key, size and ETag (quotes removed). */
export interface ListedObject {
  readonly key: string;
  readonly bytes: number;
  readonly etag: string;
}

/**
 * Every object below `prefix` (all pages of ListObjectsV2), in S3's order. A failed call is
 * thrown as `failed(error, doing)` makes it; a truncated page without a continuation token (an
 * endpoint that does not page as S3 does) as `failed(undefined, doing)`, since the listing is
 * incomplete.
 */
export async function listS3Objects(
  s3: S3Client,
  bucket: string,
  prefix: string,
  failed: (error: unknown, doing: string) => Error,
): Promise<ListedObject[]> {
  const found: ListedObject[] = [];
  for await (const object of eachS3Object(s3, bucket, prefix, failed)) found.push(object);
  return found;
}

/**
 * The objects of `listS3Objects` one at a time, keys after `startAfter` only when it is given:
 * a caller that stops reading (`break`, `return`) asks for no further page.
 */
export async function* eachS3Object(
  s3: S3Client,
  bucket: string,
  prefix: string,
  failed: (error: unknown, doing: string) => Error,
  startAfter?: string,
): AsyncGenerator<ListedObject> {
  const doing = `listing s3://${bucket}/${prefix}`;
  let token: string | undefined;
  do {
    let page: ListObjectsV2CommandOutput;
    try {
      page = await s3.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: prefix,
          ...(token ? { ContinuationToken: token } : startAfter ? { StartAfter: startAfter } : {}),
        }),
      );
    } catch (error) {
      throw failed(error, doing);
    }
    for (const object of page.Contents ?? [])
      if (object.Key?.startsWith(prefix))
        yield {
          key: object.Key,
          bytes: object.Size ?? 0,
          etag: (object.ETag ?? '').replaceAll('"', ''),
        };
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
    if (page.IsTruncated && !token) throw failed(undefined, doing);
  } while (token);
}

/** The keys of `listS3Objects`. */
export async function listS3Keys(
  s3: S3Client,
  bucket: string,
  prefix: string,
  failed: (error: unknown, doing: string) => Error,
): Promise<string[]> {
  return (await listS3Objects(s3, bucket, prefix, failed)).map((object) => object.key);
}

/** What a truncated page without a continuation token is reported as. */
export const truncatedListing =
  'answered a truncated page without a continuation token, so the listing would be incomplete';
