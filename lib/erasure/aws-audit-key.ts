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

/** A Secrets Manager client for `region`, loading the SDK only when called. */
export async function secretsManagerClient(region: string): Promise<SecretsManagerClient> {
  const { SecretsManagerClient } = await import('@aws-sdk/client-secrets-manager');
  return new SecretsManagerClient({ region });
}
