import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditKeyError, hashErasureKeys } from '../../../lib/erasure/audit-key-hash.ts';
import { awsAuditKey, replaceAwsAuditKey } from '../../../lib/erasure/aws-audit-key.ts';
import type { ErasureKey } from '../../../lib/erasure/erasure-keys.ts';
import { localAuditKey, localAuditKeyPath } from '../../../lib/erasure/local-audit-key.ts';

const c1: ErasureKey = { key: 'customer_id', type: 'string', value: 'C1' };
let dataDir: string;

beforeEach(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'fstore-audit-key-'));
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('hashErasureKeys', () => {
  it('hashes the same key differently in two environments, so a hash cannot be found by trying ids', async () => {
    const [a] = hashErasureKeys([c1], await localAuditKey(dataDir, 'local'));
    const [b] = hashErasureKeys([c1], await localAuditKey(dataDir, 'local-restored'));
    expect(a?.hash).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(a?.hash).not.toBe(b?.hash);
    const plain = createHash('sha256').update('customer_id=C1').digest('hex');
    expect(a?.hash).not.toContain(plain);
    expect(a?.hash).not.toContain('C1');
  });

  it('hashes the same key the same way twice in one environment (later deletes match earlier ones)', async () => {
    const first = hashErasureKeys([c1], await localAuditKey(dataDir, 'local'));
    const second = hashErasureKeys([c1], await localAuditKey(dataDir, 'local'));
    expect(second).toEqual(first);
    expect(first[0]?.key).toBe('customer_id');
  });

  it('refuses a secret shorter than 32 bytes', () => {
    expect(() => hashErasureKeys([c1], Buffer.alloc(16))).toThrow(
      'the audit secret is 16 bytes; at least 32 are needed',
    );
  });
});

describe('the local audit key', () => {
  it('is created once as 64 hex digits readable by its owner only, even by two first uses at once', async () => {
    const [one, two] = await Promise.all([
      localAuditKey(dataDir, 'local'),
      localAuditKey(dataDir, 'local'),
    ]);
    expect(one).toEqual(two);
    const file = localAuditKeyPath(dataDir, 'local');
    expect((await readFile(file, 'utf8')).trim()).toBe(one.toString('hex'));
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(path.basename(path.dirname(file))).toBe('audit');
  });

  it.each([
    ['short', 'abc123\n'],
    ['not hex', `${'z'.repeat(64)}\n`],
    ['empty', ''],
  ])('refuses a %s key file, naming it, and leaves it as it was', async (_kind, text) => {
    await localAuditKey(dataDir, 'local');
    const file = localAuditKeyPath(dataDir, 'local');
    await writeFile(file, text);
    const error = await localAuditKey(dataDir, 'local').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuditKeyError);
    expect((error as Error).message).toContain(`the audit key ${file} is damaged`);
    expect((error as AuditKeyError).hint).toContain('restore it from an fstore export');
    expect(await readFile(file, 'utf8')).toBe(text);
  });
});

describe('the AWS audit key (Secrets Manager)', () => {
  const secrets = mockClient(SecretsManagerClient);
  const arn = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:fstore-dev-audit-key-AbCdEf';
  const client = new SecretsManagerClient({ region: 'eu-west-1' });
  beforeEach(() => secrets.reset());

  it('is the bytes of the secret the stack generated', async () => {
    const value = 'k'.repeat(64);
    secrets.on(GetSecretValueCommand, { SecretId: arn }).resolves({ SecretString: value });
    expect((await awsAuditKey(client, arn)).toString('utf8')).toBe(value);
  });

  it('refuses a secret shorter than 32 bytes, naming it', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: 'short' });
    await expect(awsAuditKey(client, arn)).rejects.toThrow(
      `the audit key secret ${arn} holds 5 bytes of text; at least 32 are needed`,
    );
  });

  it('says to deploy when the secret does not exist', async () => {
    secrets
      .on(GetSecretValueCommand)
      .rejects(new ResourceNotFoundException({ message: 'not found', $metadata: {} }));
    const error = await awsAuditKey(client, arn).catch((e: unknown) => e);
    expect((error as Error).message).toContain(`could not read the audit key secret ${arn}`);
    expect((error as AuditKeyError).hint).toContain('deploy this version of fstore');
  });

  it('is replaced by an import with the exported key, and a short value is refused unwritten', async () => {
    secrets.on(PutSecretValueCommand).resolves({});
    await replaceAwsAuditKey(client, arn, 'x'.repeat(64));
    expect(secrets.commandCalls(PutSecretValueCommand)[0]?.args[0].input).toEqual({
      SecretId: arn,
      SecretString: 'x'.repeat(64),
    });
    await expect(replaceAwsAuditKey(client, arn, 'short')).rejects.toThrow('holds 5 bytes');
    expect(secrets.commandCalls(PutSecretValueCommand)).toHaveLength(1);
  });

  it('names the grant when the write is denied', async () => {
    secrets
      .on(PutSecretValueCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    const error = await replaceAwsAuditKey(client, arn, 'x'.repeat(64)).catch((e: unknown) => e);
    expect((error as AuditKeyError).hint).toContain('secretsmanager:PutSecretValue');
  });
});
