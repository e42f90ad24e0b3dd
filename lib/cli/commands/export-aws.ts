import { exportAwsEnvironment } from '../../backup/aws-export.ts';
import { awsAuditKey, secretsManagerClient } from '../../erasure/aws-audit-key.ts';
import type { CliContext } from '../context.ts';
import { createProgress, type Progress } from '../progress.ts';
import { backupAwsEnv } from './backup-aws-env.ts';
import type { ExportCliResult } from './export.ts';

/**
 * `fstore export --env <aws>` (lib/backup/aws-export.ts): the buckets and the audit key secret
 * from the deployed stack. Loaded only on this path, so a local export never loads the AWS SDK.
 */
export async function exportOnAws(
  ctx: CliContext,
  options: { out: string; includeData: boolean; json: boolean; fstoreVersion: string },
): Promise<ExportCliResult> {
  const env = await backupAwsEnv(ctx);
  const auditSecret = env.auditSecretArn
    ? (await awsAuditKey(await secretsManagerClient(env.region), env.auditSecretArn)).toString(
        'utf8',
      )
    : undefined;
  let progress: Progress | undefined;
  let shownTotal = -1;
  try {
    const result = await exportAwsEnvironment({
      env: ctx.env,
      offline: env.offline,
      artifacts: env.artifacts,
      ...(auditSecret !== undefined ? { auditSecret } : {}),
      out: options.out,
      includeData: options.includeData,
      fstoreVersion: options.fstoreVersion,
      onProgress: (done, total) => {
        if (options.json) return;
        // The total grows once the records tell which data objects to copy: a new bar then.
        if (total !== shownTotal) {
          progress?.stop();
          progress = createProgress('downloading', total);
          shownTotal = total;
        }
        progress?.update(done);
      },
    });
    return { ...result, auditKey: auditSecret !== undefined };
  } finally {
    progress?.stop();
  }
}
