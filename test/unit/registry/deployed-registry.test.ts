import path from 'node:path';
import { GetObjectCommand, NoSuchKey, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DeployedRegistryError,
  readDeployedRegistry,
} from '../../../lib/registry/deployed-registry.ts';
import {
  compileRegistry,
  loadDefinitions,
  serializeRegistry,
} from '../../../lib/registry/index.ts';
import { RegistryTextError } from '../../../lib/registry/parse-registry.ts';
import { repoRoot } from '../../helpers/run-fstore.ts';

const s3Mock = mockClient(S3Client);
const s3 = new S3Client({ region: 'eu-west-1' });
afterEach(() => s3Mock.reset());

/** A GetObject body: the SDK's stream mixin offers transformToString, which is all we read. */
const body = (text: string) =>
  ({ transformToString: async () => text }) as unknown as NonNullable<
    Awaited<ReturnType<S3Client['send']>>
  >;

const serviceError = (name: string, status: number) =>
  new S3ServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: status } });

describe('readDeployedRegistry', () => {
  it('reads and validates registry/deployed.json from the artifacts bucket', async () => {
    const registry = compileRegistry(await loadDefinitions(path.join(repoRoot, 'feature-defs')));
    s3Mock
      .on(GetObjectCommand, { Bucket: 'artifacts-b', Key: 'registry/deployed.json' })
      .resolves({ Body: body(serializeRegistry(registry)) as never });
    const deployed = await readDeployedRegistry(s3, 'artifacts-b');
    expect(deployed).toEqual({
      status: 'recorded',
      registry,
      location: 's3://artifacts-b/registry/deployed.json',
    });
  });

  it('reports "none" when no deploy has recorded a registry (NoSuchKey)', async () => {
    s3Mock
      .on(GetObjectCommand)
      .rejects(new NoSuchKey({ message: 'The specified key does not exist.', $metadata: {} }));
    expect(await readDeployedRegistry(s3, 'artifacts-b')).toEqual({
      status: 'none',
      location: 's3://artifacts-b/registry/deployed.json',
    });
  });

  it('names the object and the permission it needs when access is denied', async () => {
    s3Mock.on(GetObjectCommand).rejects(serviceError('AccessDenied', 403));
    const error = await readDeployedRegistry(s3, 'artifacts-b').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeployedRegistryError);
    expect(error).toMatchObject({
      message:
        'access denied reading the deployed registry s3://artifacts-b/registry/deployed.json',
      hint: 'the caller needs s3:GetObject on arn:aws:s3:::artifacts-b/registry/deployed.json',
    });
  });

  it('says there are no credentials and offers --against instead', async () => {
    const noCredentials = Object.assign(
      new Error('Could not load credentials from any providers'),
      { name: 'CredentialsProviderError' },
    );
    s3Mock.on(GetObjectCommand).rejects(noCredentials);
    await expect(readDeployedRegistry(s3, 'artifacts-b')).rejects.toMatchObject({
      name: 'DeployedRegistryError',
      message:
        'no AWS credentials to read the deployed registry s3://artifacts-b/registry/deployed.json',
      hint: expect.stringContaining('--against <file>'),
    });
  });

  it('names a missing bucket', async () => {
    s3Mock.on(GetObjectCommand).rejects(serviceError('NoSuchBucket', 404));
    await expect(readDeployedRegistry(s3, 'nope')).rejects.toThrow(
      'bucket nope does not exist (reading the deployed registry)',
    );
  });

  it('keeps the message of any other failure, with the object it was reading', async () => {
    s3Mock.on(GetObjectCommand).rejects(Object.assign(new Error('socket hang up'), { name: 'X' }));
    await expect(readDeployedRegistry(s3, 'artifacts-b')).rejects.toThrow(
      'reading the deployed registry s3://artifacts-b/registry/deployed.json failed: socket hang up',
    );
  });

  it('refuses an object that is not JSON, naming its S3 location', async () => {
    s3Mock.on(GetObjectCommand).resolves({ Body: body('{"entities": [') as never });
    const error = await readDeployedRegistry(s3, 'artifacts-b').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryTextError);
    expect(error).toMatchObject({
      message: 's3://artifacts-b/registry/deployed.json is not valid JSON',
    });
  });

  it('refuses JSON that is not a registry, naming the first bad field', async () => {
    s3Mock.on(GetObjectCommand).resolves({ Body: body('{"formatVersion": 7}') as never });
    await expect(readDeployedRegistry(s3, 'artifacts-b')).rejects.toThrow(
      /^s3:\/\/artifacts-b\/registry\/deployed\.json is not an fstore registry \(formatVersion: /,
    );
  });
});
