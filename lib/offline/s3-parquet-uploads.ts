import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { DeleteObjectsCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

/**
 * Puts the local Parquet file `file` as `key`, streamed with its length. With `ifMatch` (an
 * ETag) S3 replaces the object only if it is still that version, and answers 412 otherwise.
 */
export async function putParquetFile(
  s3: S3Client,
  bucket: string,
  key: string,
  file: string,
  ifMatch?: string,
): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: createReadStream(file),
      ContentLength: (await stat(file)).size,
      ContentType: 'application/vnd.apache.parquet',
      ...(ifMatch ? { IfMatch: ifMatch } : {}),
    }),
  );
}

/**
 * Deletes the uploads of a run that did not commit, 1,000 keys a request. No commit record names
 * them, so no reader reads them: a failed delete only leaves them behind, and is not reported
 * (the run's own error is what its caller needs to see).
 */
export async function discardUploads(
  s3: S3Client,
  bucket: string,
  keys: readonly string[],
): Promise<void> {
  for (let start = 0; start < keys.length; start += 1000)
    await s3
      .send(
        new DeleteObjectsCommand({
          Bucket: bucket,
          Delete: { Objects: keys.slice(start, start + 1000).map((Key) => ({ Key })), Quiet: true },
        }),
      )
      .catch(() => undefined);
}
