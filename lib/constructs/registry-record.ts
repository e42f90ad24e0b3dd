import { RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import type { StageConfig } from '../config/stage-config.ts';
import { deployedRegistryKey, registryHistoryKey } from '../registry/deployed-registry-keys.ts';
import type { Registry } from '../registry/index.ts';
import { stableStringify } from '../registry/stable-json.ts';
import { retention } from './function-defaults.ts';
import { functionRole } from './function-role.ts';

export interface RegistryRecordProps {
  readonly stage: StageConfig;
  /** The registry this deploy carries. */
  readonly registry: Registry;
  /** The stack's artifacts bucket, which receives the record. */
  readonly bucket: s3.IBucket;
}

/**
 * Records the registry a deploy carries in the artifacts bucket, as `registry/deployed.json`
 * (what `fstore plan --env <aws>` compares with) and `registry/history/<version>.json`. The
 * writes are custom-resource updates, so a deploy that rolls back writes the previous registry
 * back. The writer may put those two objects and nothing else.
 */
export class RegistryRecord extends Construct {
  constructor(scope: Construct, id: string, props: RegistryRecordProps) {
    super(scope, id);
    const { stage, registry, bucket } = props;
    const logGroup = new logs.LogGroup(this, 'WriterLogs', {
      retention: retention(stage.logRetentionDays),
      removalPolicy: stage.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    const role = functionRole(this, 'WriterRole', {
      logGroup,
      description: `Writes the deployed fstore registry of ${stage.name} to the artifacts bucket`,
    });
    const body = stableStringify(registry, 0);
    for (const [writeId, key] of [
      ['Deployed', deployedRegistryKey],
      ['History', registryHistoryKey(registry.version)],
    ] as const) {
      const put: cr.AwsSdkCall = {
        service: 'S3',
        action: 'putObject',
        parameters: {
          Bucket: bucket.bucketName,
          Key: key,
          Body: body,
          ContentType: 'application/json',
        },
        physicalResourceId: cr.PhysicalResourceId.of(key),
        // The body is the whole registry: keep it out of the writer's log lines.
        logging: cr.Logging.withDataHidden(),
      };
      new cr.AwsCustomResource(this, writeId, {
        onCreate: put,
        onUpdate: put,
        role,
        logGroup,
        installLatestAwsSdk: false,
        policy: cr.AwsCustomResourcePolicy.fromStatements([
          new iam.PolicyStatement({
            actions: ['s3:PutObject'],
            resources: [bucket.arnForObjects(key)],
          }),
        ]),
      });
    }
  }
}
