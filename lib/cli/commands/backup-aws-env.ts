import { S3Client } from '@aws-sdk/client-s3';
import type { S3Bucket } from '../../backup/s3-transfer.ts';
import { stackOutputNames } from '../../stacks/stack-output-names.ts';
import { awsRegion } from '../aws-region.ts';
import { CliError } from '../cli-error.ts';
import type { CliContext } from '../context.ts';
import { environmentStackOutputs } from './describe-outputs.ts';

/** The name of the stack output holding the artifacts bucket (registry and its history). */
const artifactsBucketOutput = 'ArtifactsBucketName';

/** What `fstore export` / `import` need of an AWS environment. */
export interface BackupAwsEnv {
  readonly region: string;
  readonly offline: S3Bucket;
  readonly artifacts: S3Bucket;
  /** The AuditKeySecretArn output; absent when the buckets were named without reading the stack. */
  readonly auditSecretArn?: string;
}

/**
 * The environment's buckets: FSTORE_OFFLINE_BUCKET and FSTORE_ARTIFACTS_BUCKET when both are set
 * (no stack read, so no audit key), else the deployed stack's outputs.
 */
export async function backupAwsEnv(ctx: CliContext): Promise<BackupAwsEnv> {
  const region = awsRegion(ctx.env);
  const s3 = new S3Client({ region });
  const offline = process.env.FSTORE_OFFLINE_BUCKET;
  const artifacts = process.env.FSTORE_ARTIFACTS_BUCKET;
  if (offline && artifacts)
    return { region, offline: { s3, bucket: offline }, artifacts: { s3, bucket: artifacts } };
  ctx.out.status(`reading the outputs of the ${ctx.env} stack ...`);
  const stack = await environmentStackOutputs(ctx.env);
  const needed = (name: string) => {
    const value = stack.outputs[name];
    if (value) return value;
    throw new CliError(`stack ${stack.stackName} has no ${name} output`, {
      hint: 'deploy this version of fstore to the environment (npx cdk deploy -c env=...), then run again',
    });
  };
  return {
    region,
    offline: { s3, bucket: offline ?? needed(stackOutputNames.offlineBucket) },
    artifacts: { s3, bucket: artifacts ?? needed(artifactsBucketOutput) },
    auditSecretArn: needed(stackOutputNames.auditKeySecretArn),
  };
}
