// Types only: the SDK loads when an AWS environment's key is read.
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AuditKeyError, minAuditSecretBytes } from './audit-key-hash.ts';

/**
 * An AWS environment's audit secret: the UTF-8 bytes of the Secrets Manager secret the stack
 * generated (output `AuditKeySecretArn`, 64 random characters). A secret that is missing, not
 * readable or shorter than 32 bytes is an AuditKeyError naming it.
 */
export async function awsAuditKey(
  client: SecretsManagerClient,
  secretArn: string,
): Promise<Buffer> {
  const { GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
  let text: string | undefined;
  try {
    text = (await client.send(new GetSecretValueCommand({ SecretId: secretArn }))).SecretString;
  } catch (error) {
    const { name = '', message = '' } = error as { name?: string; message?: string };
    throw new AuditKeyError(
      `could not read the audit key secret ${secretArn}: ${name} ${message}`.trim(),
      name === 'ResourceNotFoundException'
        ? 'deploy this version of fstore to the environment (the stack creates the secret)'
        : 'the role needs secretsmanager:GetSecretValue on the secret (and kms:Decrypt if it has its own key)',
      { cause: error },
    );
  }
  const secret = Buffer.from(text ?? '', 'utf8');
  if (secret.byteLength < minAuditSecretBytes)
    throw new AuditKeyError(
      `the audit key secret ${secretArn} holds ${secret.byteLength} bytes of text; at least ${minAuditSecretBytes} are needed`,
      'the stack generates it: restore its value from the previous version (secretsmanager get-secret-value --version-stage AWSPREVIOUS)',
    );
  return secret;
}

/**
 * Makes `value` the secret's current version (an import restoring the exported environment's
 * key, so its audit stays comparable with later deletes). Refuses a value under 32 bytes.
 */
export async function replaceAwsAuditKey(
  client: SecretsManagerClient,
  secretArn: string,
  value: string,
): Promise<void> {
  if (Buffer.byteLength(value, 'utf8') < minAuditSecretBytes)
    throw new AuditKeyError(
      `the audit key to write into ${secretArn} holds ${Buffer.byteLength(value, 'utf8')} bytes; at least ${minAuditSecretBytes} are needed`,
      'the export’s audit/aws-audit-key is not a key fstore exported; export again',
    );
  const { PutSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
  try {
    await client.send(new PutSecretValueCommand({ SecretId: secretArn, SecretString: value }));
  } catch (error) {
    const { name = '', message = '' } = error as { name?: string; message?: string };
    throw new AuditKeyError(
      `could not write the audit key secret ${secretArn}: ${name} ${message}`.trim(),
      'the role needs secretsmanager:PutSecretValue on the secret; run the same import again (it resumes)',
      { cause: error },
    );
  }
}

/** A Secrets Manager client for `region`, loading the SDK only when called. */
export async function secretsManagerClient(region: string): Promise<SecretsManagerClient> {
  const { SecretsManagerClient } = await import('@aws-sdk/client-secrets-manager');
  return new SecretsManagerClient({ region });
}
