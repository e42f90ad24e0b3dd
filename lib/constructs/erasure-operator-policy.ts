import { Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { StageConfig } from '../config/stage-config.ts';
import { erasureStatements } from '../iam/erasure-policy.ts';
import { deployedRegistryKey } from '../registry/deployed-registry-keys.ts';
import type { Registry } from '../registry/index.ts';
import type { OfflineStore } from './offline-store.ts';

export interface ErasureOperatorPolicyProps {
  readonly stage: StageConfig;
  readonly registry: Registry;
  /** The offline store: its bucket, workgroup, database and tables. */
  readonly offlineStore: OfflineStore;
  readonly table: dynamodb.ITableV2;
  readonly auditSecret: secretsmanager.ISecret;
  /** The artifacts bucket: the delete reads `registry/deployed.json` from it. */
  readonly artifactsBucket: s3.IBucket;
}

/**
 * The managed policy `fstore-<env>-erasure-operator`: exactly what `fstore delete --env <env>`
 * needs (lib/iam/erasure-policy.ts), for an operator to attach to the role or group they run it
 * under. Nothing is attached here: who may erase is the account's decision, not the stack's.
 */
export class ErasureOperatorPolicy extends Construct {
  readonly policy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: ErasureOperatorPolicyProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const bucket: s3.IBucket = props.offlineStore.bucket;
    const sources = props.registry.sources.map((s) => ({
      name: s.name,
      s3Prefix: s.offline.s3Prefix,
    }));
    const statements = erasureStatements({
      offline: props.offlineStore.policyResources,
      sources,
      tableArn: props.table.tableArn,
      stackArn: stack.stackId,
      auditSecretArn: props.auditSecret.secretArn,
      deployedRegistryArn: props.artifactsBucket.arnForObjects(deployedRegistryKey),
    });
    this.policy = new iam.ManagedPolicy(this, 'Policy', {
      managedPolicyName: `fstore-${props.stage.name}-erasure-operator`,
      description: `fstore delete --env ${props.stage.name}: find, rewrite and delete an entity's rows and items (right to erasure)`,
      statements: statements.map(
        (s) =>
          new iam.PolicyStatement({
            actions: [...s.Action],
            resources: [...s.Resource],
            ...(s.Condition ? { conditions: s.Condition } : {}),
          }),
      ),
    });
    const objects = `${bucket.bucketArn}/`;
    const bucketId = stack.resolve((bucket.node.defaultChild as s3.CfnBucket).logicalId);
    const deleted = new Set(
      statements
        .filter((s) => s.Action.includes('s3:DeleteObject'))
        .flatMap((s) =>
          s.Resource.filter((r) => r.endsWith('*')).map((r) => r.slice(objects.length, -1)),
        ),
    );
    const versioned = new Set(
      statements
        .filter((s) => s.Action.includes('s3:DeleteObjectVersion'))
        .flatMap((s) => s.Resource.map((r) => r.slice(objects.length, -1))),
    );
    const prefixes = new Set(
      statements.flatMap((s) =>
        s.Resource.filter((r) => r.startsWith(objects) && r.endsWith('*')).map((r) =>
          r.slice(objects.length, -1),
        ),
      ),
    );
    // An exact key deleted (a lock) is declared on the deepest acknowledged prefix holding it.
    const lockKeys = statements
      .filter((s) => s.Action.includes('s3:DeleteObject'))
      .flatMap((s) => s.Resource.filter((r) => r.startsWith(objects) && !r.endsWith('*')))
      .map((r) => r.slice(objects.length));
    const deepest = (key: string) =>
      [...prefixes].filter((p) => key.startsWith(p)).sort((a, b) => b.length - a.length)[0];
    const locksUnder = (prefix: string) => lockKeys.filter((k) => deepest(k) === prefix);
    for (const prefix of prefixes)
      Validations.of(this.policy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${prefix}*]`,
        reason: `Objects under the ${prefix} prefix of the offline bucket: a prefix grant is a wildcard on object keys; nothing outside the prefix is granted.${deleted.has(prefix) ? ' s3:DeleteObject under it too: the delete removes its own uploads when stopped before its commit.' : locksUnder(prefix).length > 0 ? ` s3:DeleteObject of ${locksUnder(prefix).join(', ')} only: the compaction lock, released by its holder.` : ''}${versioned.has(prefix) ? ' s3:GetObjectVersion and s3:DeleteObjectVersion under it too: an erased row must leave no version behind (the bucket is versioned, so a plain delete would keep it).' : ''}`,
      });
  }
}
