import type { Command } from 'commander';
import { exportEnvironment } from '../../backup/export-env.ts';
import { isLocalEnv } from '../../data-paths.ts';
import { describeBytes } from '../../offline/ingest-leftovers.ts';
import { CliContext } from '../context.ts';
import { plural } from '../plural.ts';
import { createProgress, type Progress } from '../progress.ts';

/** What an export wrote, local or AWS. */
export interface ExportCliResult {
  readonly out: string;
  readonly files: number;
  readonly bytes: number;
  readonly dataFiles: number;
  readonly includesData: boolean;
  /** AWS: whether the audit key secret's value is in the export. */
  readonly auditKey?: boolean;
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .description(
      'Write an environment’s registry history, lineage, ingest manifest or commit records, snapshots, audit (and its key) and watermarks (with --include-data also its committed offline data and quarantined rows) into a folder, every file listed with its sha256; local or AWS (--env <aws>: from its buckets)',
    )
    .requiredOption('--out <dir>', 'a new or empty folder')
    .option('--include-data', 'copy the committed offline data files and quarantined rows too')
    .option('--json', 'print the result as JSON')
    .action(
      async (options: { out: string; includeData?: boolean; json?: boolean }, command: Command) => {
        const ctx = CliContext.fromCommand(command);
        const fstoreVersion = command.parent?.version() ?? 'unknown';
        if (!isLocalEnv(ctx.env)) {
          const { exportOnAws } = await import('./export-aws.ts');
          const result = await exportOnAws(ctx, {
            out: options.out,
            includeData: options.includeData === true,
            json: options.json === true,
            fstoreVersion,
          });
          printResult(ctx, result, options.json === true, 'aws');
          return;
        }
        let progress: Progress | undefined;
        const result = await exportEnvironment({
          dataDir: ctx.options.dataDir,
          env: ctx.env,
          out: options.out,
          includeData: options.includeData === true,
          fstoreVersion,
          onProgress: (done, total) => {
            if (options.json) return;
            progress ??= createProgress('copying', total);
            progress.update(done);
          },
        });
        progress?.stop();
        printResult(ctx, result, options.json === true, 'local');
      },
    );
}

function printResult(
  ctx: CliContext,
  result: ExportCliResult,
  json: boolean,
  origin: 'local' | 'aws',
): void {
  if (json) {
    ctx.out.json({ ...result, origin });
    return;
  }
  ctx.out.line(
    `${ctx.out.c.green('✔')} exported env "${ctx.env}" to ${ctx.display(result.out)}: ${plural(result.files, 'file')}, ${describeBytes(result.bytes)}${result.includesData ? `, ${plural(result.dataFiles, 'data file')}` : ' (metadata only: add --include-data for the offline data)'}`,
  );
  if (origin === 'aws' && !result.auditKey)
    ctx.out.line(
      `${ctx.out.c.yellow('warning:')} the audit key is not in the export (buckets named by FSTORE_OFFLINE_BUCKET/FSTORE_ARTIFACTS_BUCKET, the stack not read): a restored audit cannot be compared with later deletes`,
    );
  if (result.auditKey === true)
    ctx.out.line(
      `${ctx.out.c.dim('·')} it holds the audit key: keep it as safe as the environment's audit`,
    );
  ctx.out.line(
    `${ctx.out.c.dim('·')} restore it with: fstore import ${result.out} --env <new ${origin === 'aws' ? 'AWS env, deployed with the same feature-defs' : 'local env'}>`,
  );
}
