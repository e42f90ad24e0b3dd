import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type ListedObject, listS3Objects } from '../offline/s3-list-keys.ts';
import { ExportError } from './export-manifest.ts';

/** A bucket and the client that reaches it. */
export interface S3Bucket {
  readonly s3: S3Client;
  readonly bucket: string;
}

export type { ListedObject } from '../offline/s3-list-keys.ts';

/** Every object below `prefix` (all pages), in S3's key order. */
export async function listAllObjects(
  s3: S3Client,
  bucket: string,
  prefix: string,
): Promise<ListedObject[]> {
  return listS3Objects(s3, bucket, prefix, (error, doing) =>
    error === undefined
      ? new ExportError(
          `${doing} answered a truncated page without a continuation token`,
          'run again; if it persists, the endpoint does not speak ListObjectsV2 as S3 does',
        )
      : s3TransferError(error, doing),
  );
}

/** Streams one object to `file` (its folder created); undefined when the object does not exist. */
export async function downloadObject(
  s3: S3Client,
  bucket: string,
  key: string,
  file: string,
): Promise<true | undefined> {
  let body: Readable;
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    body = response.Body as Readable;
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey') return undefined;
    throw s3TransferError(error, `reading s3://${bucket}/${key}`);
  }
  await mkdir(path.dirname(file), { recursive: true });
  try {
    await pipeline(body, createWriteStream(file));
  } catch (error) {
    throw s3TransferError(error, `reading s3://${bucket}/${key}`);
  }
  return true;
}

/** Reads one small object as text; undefined when it does not exist. */
export async function readObjectText(
  s3: S3Client,
  bucket: string,
  key: string,
): Promise<string | undefined> {
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return (await response.Body?.transformToString('utf8')) ?? '';
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey') return undefined;
    throw s3TransferError(error, `reading s3://${bucket}/${key}`);
  }
}

/** PutObject's limit: a larger file needs a multipart upload, which this restore does not do. */
export const maxSinglePutBytes = 5 * 1024 ** 3;

/** Uploads `file` as `key`, streamed from disk. */
export async function uploadFile(
  s3: S3Client,
  bucket: string,
  key: string,
  file: string,
): Promise<void> {
  const { size } = await stat(file);
  if (size > maxSinglePutBytes)
    throw new ExportError(
      `${file} is ${size} bytes, more than one PutObject takes (5 GiB)`,
      'compact the source into smaller files before exporting, then export again',
    );
  try {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: createReadStream(file),
        ContentLength: size,
      }),
    );
  } catch (error) {
    throw s3TransferError(error, `writing s3://${bucket}/${key}`);
  }
}

/** S3's answers to too many requests, left after the SDK's own retries. */
export function isThrottling(error: unknown): boolean {
  const name = (error as Error | undefined)?.name;
  const status = (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  return (
    name === 'SlowDown' || name === 'Throttling' || name === 'ThrottlingException' || status === 503
  );
}

export function s3TransferError(error: unknown, doing: string): ExportError {
  const name = error instanceof Error ? error.name : 'Error';
  const message = error instanceof Error ? error.message : String(error);
  return new ExportError(
    `${doing} failed: ${name}: ${message}`,
    isThrottling(error)
      ? 'S3 is throttling the bucket (after the SDK’s retries): run the same command again in a minute; it resumes'
      : 'check the credentials and their grants on the bucket (s3:ListBucket, s3:GetObject, s3:PutObject), then run the same command again',
    { cause: error },
  );
}

/** The file behind `file`'s path, for messages and uploads. */
export function localFile(dir: string, relative: string): string {
  return path.join(dir, ...relative.split('/'));
}
