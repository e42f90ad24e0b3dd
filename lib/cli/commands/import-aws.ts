import { type AwsImportResult, importAwsEnvironment } from '../../backup/aws-import.ts';
import {
  awsAuditKey,
  replaceAwsAuditKey,
  secretsManagerClient,
} from '../../erasure/aws-audit-key.ts';
import type { CliContext } from '../context.ts';
import { createProgress, type Progress } from '../progress.ts';
import { backupAwsEnv } from './backup-aws-env.ts';

/**
 * `fstore import <dir> --env <aws>` (lib/backup/aws-import.ts): the target's buckets and audit
 * key secret from its deployed stack. Loaded only on this path, so a local import never loads
 * the AWS SDK.
 */
export async function importOnAws(
  ctx: CliContext,
  options: { from: string; json: boolean },
): Promise<AwsImportResult> {
  const env = await backupAwsEnv(ctx);
  const arn = env.auditSecretArn;
  const secrets = arn ? await secretsManagerClient(env.region) : undefined;
  let progress: Progress | undefined;
  try {
    return await importAwsEnvironment({
      env: ctx.env,
      offline: env.offline,
      artifacts: env.artifacts,
      from: options.from,
      ...(arn && secrets
        ? {
            auditSecret: {
              current: async () => (await awsAuditKey(secrets, arn)).toString('utf8'),
              replace: (value: string) => replaceAwsAuditKey(secrets, arn, value),
            },
          }
        : {}),
      onProgress: (done, total) => {
        if (options.json) return;
        progress ??= createProgress('uploading', total);
        progress.update(done);
      },
    });
  } finally {
    progress?.stop();
  }
}
