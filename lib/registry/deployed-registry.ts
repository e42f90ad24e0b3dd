import { GetObjectCommand, NoSuchKey, type S3Client } from '@aws-sdk/client-s3';
import { HintedError } from '../hinted-error.ts';
import { deployedRegistryKey } from './deployed-registry-keys.ts';
import { parseRegistryText } from './parse-registry.ts';
import type { Registry } from './registry-schema.ts';

/** The deployed registry could not be read (access, credentials, a damaged object). */
export class DeployedRegistryError extends HintedError {}

export type DeployedRegistry =
  | { readonly status: 'recorded'; readonly registry: Registry; readonly location: string }
  /** No deploy has recorded a registry in this bucket yet. */
  | { readonly status: 'none'; readonly location: string };

/** Reads the registry the last deploy recorded in the stack's artifacts bucket. */
export async function readDeployedRegistry(
  s3: S3Client,
  bucket: string,
  key: string = deployedRegistryKey,
): Promise<DeployedRegistry> {
  const location = `s3://${bucket}/${key}`;
  let text: string;
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if (!response.Body) throw new DeployedRegistryError(`${location} has no body`, undefined);
    text = await response.Body.transformToString('utf8');
  } catch (error) {
    if (error instanceof NoSuchKey || errorName(error) === 'NoSuchKey')
      return { status: 'none', location };
    throw explainReadError(error, location, bucket, key);
  }
  const registry = parseRegistryText(
    text,
    location,
    'redeploy the stack to record the registry again',
  );
  return { status: 'recorded', registry, location };
}

function explainReadError(error: unknown, location: string, bucket: string, key: string): Error {
  if (error instanceof DeployedRegistryError) return error;
  const name = errorName(error);
  const message = error instanceof Error ? error.message : String(error);
  if (name === 'CredentialsProviderError' || /credential/i.test(message))
    return new DeployedRegistryError(
      `no AWS credentials to read the deployed registry ${location}`,
      'set AWS_PROFILE (or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY), or compare offline with --against <file>',
      { cause: error },
    );
  if (name === 'AccessDenied' || name === 'Forbidden')
    return new DeployedRegistryError(
      `access denied reading the deployed registry ${location}`,
      `the caller needs s3:GetObject on arn:aws:s3:::${bucket}/${key}`,
      { cause: error },
    );
  if (name === 'NoSuchBucket')
    return new DeployedRegistryError(
      `bucket ${bucket} does not exist (reading the deployed registry)`,
      'pass the ArtifactsBucketName output of the stack, in the right account and region',
      { cause: error },
    );
  return new DeployedRegistryError(
    `reading the deployed registry ${location} failed: ${message}`,
    undefined,
    { cause: error },
  );
}

function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}
