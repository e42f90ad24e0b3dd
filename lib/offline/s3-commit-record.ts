import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { CommitOutcomeUnknownError } from './ingest-target.ts';

/**
 * The commit point of an S3 ingest or compaction: one PutObject of a one-line JSON record (the
 * JSON SerDe of `fstore_ingests` reads one object per line). When S3 refuses the put (a 4xx other
 * than 408) nothing was stored and the error is raised as it is, so the caller may delete its
 * uploads. Any other failure (a client timeout, a reset, a 5xx, a 408) may still store the record
 * later: unless a GetObject finds it stored already, CommitOutcomeUnknownError is raised, and the
 * caller must keep the objects the record names, or a late record would name deleted objects.
 */
export async function putCommitRecord(
  client: S3Client,
  bucket: string,
  key: string,
  record: unknown,
  ifUnknown: string,
): Promise<void> {
  try {
    await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: `${JSON.stringify(record)}\n`,
        ContentType: 'application/json',
      }),
    );
  } catch (error) {
    if (isDefiniteRefusal(error)) throw error;
    try {
      await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return;
    } catch {
      // absent, or the lookup failed too: unknown either way
    }
    throw new CommitOutcomeUnknownError(
      `the record s3://${bucket}/${key} may or may not have been written (${errorText(error)}); ${ifUnknown}`,
      { cause: error },
    );
  }
}

/** An answer from S3 saying it did not do the request (a 4xx other than 408 Request Timeout). */
function isDefiniteRefusal(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return status !== undefined && status >= 400 && status < 500 && status !== 408;
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
