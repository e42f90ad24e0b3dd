import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { StageConfig } from '../config/stage-config.ts';

export interface AuditKeySecretProps {
  readonly stage: StageConfig;
}

/**
 * The environment's audit secret: the key under which `fstore delete` hashes the deleted keys
 * for its audit (HMAC-SHA256, lib/erasure/audit-key-hash.ts). Secrets Manager generates it (64
 * letters and digits, about 380 bits), keeps it encrypted at rest with its AWS managed key, and
 * the CLI reads it with GetSecretValue. Retained with the data on production stages: without it
 * the audit's hashes of earlier deletes can no longer be matched. Never rotated (see the
 * acknowledgement).
 */
export class AuditKeySecret extends Construct {
  readonly secret: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: AuditKeySecretProps) {
    super(scope, id);
    this.secret = new secretsmanager.Secret(this, 'Secret', {
      description: `fstore ${props.stage.name}: key of the erasure audit's key hashes (HMAC-SHA256)`,
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
      removalPolicy: props.stage.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    Validations.of(this.secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Not rotated on purpose: the audit matches a later delete of a key to an earlier one by the same HMAC, so a rotated key would make every earlier audit line incomparable; it is a hashing key, not a credential to any system',
    });
  }
}
