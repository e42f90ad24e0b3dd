import type { AwsEraseResult } from '../../erasure/erase-entities-aws.ts';
import type { ErasureKey } from '../../erasure/erasure-keys.ts';
import { onlineTableName } from '../../online/online-table.ts';
import type { Registry } from '../../registry/index.ts';
import { stackOutputNames } from '../../stacks/stack-output-names.ts';
import { athenaRunnerFor } from '../aws-env.ts';
import { awsRegion } from '../aws-region.ts';
import { CliError, exitCodes } from '../cli-error.ts';
import type { CliContext } from '../context.ts';
import { plural } from '../plural.ts';
import { InterruptedError } from '../shutdown.ts';
import {
  materializationWaitReporter,
  printQuarantineAndOnline,
  printSnapshotsAffected,
} from './delete-summary.ts';
import { environmentStackOutputs } from './describe-outputs.ts';

/** The stack output naming the artifacts bucket, which holds `registry/deployed.json`. */
const artifactsBucketOutput = 'ArtifactsBucketName';

export interface AwsDeleteOptions {
  readonly keys: readonly ErasureKey[];
  readonly dryRun: boolean;
  readonly json: boolean;
  /** `--bucket` / FSTORE_OFFLINE_BUCKET; else the stack's OfflineBucketName output. */
  readonly bucket?: string;
  /** `--break-lock <owner>`: a killed delete's (or compaction's) lock, taken over at once. */
  readonly breakLock?: string;
}

/**
 * `fstore delete --env <aws>` (lib/erasure/erase-entities-aws.ts): the bucket and the audit key
 * secret come from the deployed stack's outputs (the bucket may be named with --bucket), Athena
 * runs in the environment's workgroup, the online table is `fstore-<env>-online`. Loaded only on
 * this path, so a local delete never loads the AWS SDK. The caller's credentials need the
 * stack's ErasureOperatorPolicyArn policy.
 */
export async function deleteOnAws(
  ctx: CliContext,
  registry: Registry,
  options: AwsDeleteOptions,
): Promise<void> {
  const region = awsRegion(ctx.env);
  ctx.out.status(`reading the outputs of the ${ctx.env} stack ...`);
  const stack = await environmentStackOutputs(ctx.env);
  const bucket = options.bucket ?? stack.outputs[stackOutputNames.offlineBucket];
  const secretArn = stack.outputs[stackOutputNames.auditKeySecretArn];
  if (!bucket || !secretArn)
    throw new CliError(
      `stack ${stack.stackName} has no ${!bucket ? stackOutputNames.offlineBucket : stackOutputNames.auditKeySecretArn} output`,
      { hint: 'deploy this version of fstore to the environment (cdk deploy), then run again' },
    );
  const [{ S3Client }, { DynamoDBClient }, { eraseEntitiesOnAws }, audit, deployed] =
    await Promise.all([
      import('@aws-sdk/client-s3'),
      import('@aws-sdk/client-dynamodb'),
      import('../../erasure/erase-entities-aws.ts'),
      import('../../erasure/aws-audit-key.ts'),
      import('../../registry/deployed-registry.ts'),
    ]);
  // The keys' columns and the sources' prefixes come from the definitions: they must be the
  // ones the environment runs, or rows under another column or prefix would be missed.
  const artifacts = stack.outputs[artifactsBucketOutput];
  if (!artifacts)
    throw new CliError(`stack ${stack.stackName} has no ${artifactsBucketOutput} output`, {
      hint: 'deploy this version of fstore to the environment (cdk deploy), then run again',
    });
  const running = await deployed.readDeployedRegistry(new S3Client({ region }), artifacts);
  const runningVersion = running.status === 'recorded' ? running.registry.version : undefined;
  if (runningVersion !== registry.version)
    throw new CliError(
      `environment "${ctx.env}" runs registry ${runningVersion ?? '(none recorded)'} (${running.location}), the local definitions compile to ${registry.version}; nothing was changed`,
      {
        hint: `run the delete from the feature-defs deployed to ${ctx.env} (or deploy these first: npx cdk deploy -c env=${ctx.env})`,
        exitCode: exitCodes.usage,
      },
    );
  const auditSecret = await audit.awsAuditKey(await audit.secretsManagerClient(region), secretArn);
  const signal = ctx.shutdown.stopSignal();
  let result: AwsEraseResult;
  try {
    result = await eraseEntitiesOnAws({
      registry,
      env: ctx.env,
      keys: options.keys,
      s3: new S3Client({ region }),
      bucket,
      region,
      athena: athenaRunnerFor(ctx.env),
      online: { client: new DynamoDBClient({ region }), table: onlineTableName(ctx.env) },
      auditSecret,
      dryRun: options.dryRun,
      ...(options.breakLock !== undefined ? { breakLockOwner: options.breakLock } : {}),
      signal,
      onMaterializationWait: materializationWaitReporter(ctx),
    });
  } catch (error) {
    const by = ctx.shutdown.signal;
    if (by && signal.aborted)
      throw new InterruptedError(
        by,
        'stopped between steps: sources committed before the stop are rewritten; the rest is unchanged',
        'run the same fstore delete again: it finds what is left',
      );
    throw error;
  }
  if (options.json) ctx.out.json({ bucket, ...result });
  else printAwsSummary(ctx, result);
}

function printAwsSummary(ctx: CliContext, result: AwsEraseResult): void {
  const verb = result.dryRun ? 'would delete' : 'deleted';
  for (const {
    source,
    rows,
    files,
    replacedFiles,
    uncommittedFiles,
    versionsDeleted,
  } of result.offline)
    ctx.out.line(
      `offline ${source}: ${verb} ${plural(rows, 'row')}${files > 0 ? ` (${plural(files, 'object')} ${result.dryRun ? 'hold' : 'written again without'} them)` : ''}${replacedFiles > 0 ? `, and ${plural(replacedFiles, 'object')} no reader reads` : ''}${uncommittedFiles > 0 ? `, and ${plural(uncommittedFiles, 'object')} no record names yet (written again at the same key)` : ''}${versionsDeleted ? `; ${plural(versionsDeleted, 'object version')} deleted for good` : ''}`,
    );
  for (const { source, rows, errorRecords, objects, versionsDeleted } of result.staged ?? [])
    if (objects > 0)
      ctx.out.line(
        `pushed ${source}: ${verb} ${plural(rows, 'staged row')} and ${plural(errorRecords, 'record')} Firehose could not convert (${plural(objects, 'object')} under offline/_push/${source}/ or _push-errors/${source}/${result.dryRun ? '' : ', written again at the same key'})${versionsDeleted ? `; ${plural(versionsDeleted, 'older version')} deleted for good` : ''}`,
      );
  printQuarantineAndOnline(ctx, result);
  printSnapshotsAffected(ctx, result.snapshotsAffected);
  if (result.dryRun)
    ctx.out.line(
      'Dry run: nothing was changed and nothing audited (offline counts are Athena’s, over every object holding the keys).',
    );
  else
    ctx.out.line(
      `${ctx.out.c.green('✔')} audited in ${result.auditObject ?? ''} (keys as HMAC-SHA256 under the environment’s audit key). Training sets and replays that read these rows no longer reproduce exactly.`,
    );
}
