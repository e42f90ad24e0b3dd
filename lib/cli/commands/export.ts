import type { Command } from 'commander';
import { exportEnvironment } from '../../backup/export-env.ts';
import { isLocalEnv } from '../../data-paths.ts';
import { describeBytes } from '../../offline/ingest-leftovers.ts';
import { UsageError } from '../cli-error.ts';
import { CliContext } from '../context.ts';
import { plural } from '../plural.ts';
import { createProgress, type Progress } from '../progress.ts';

export function registerExport(program: Command): void {
  program
    .command('export')
    .description(
      'Write a local environment’s registry history, lineage, ingest manifest, snapshots, audit and watermarks (with --include-data also its offline data and quarantined rows) into a folder, every file listed with its sha256',
    )
    .requiredOption('--out <dir>', 'a new or empty folder')
    .option('--include-data', 'copy the committed offline data files and quarantined rows too')
    .option('--json', 'print the result as JSON')
    .action(
      async (options: { out: string; includeData?: boolean; json?: boolean }, command: Command) => {
        const ctx = CliContext.fromCommand(command);
        if (!isLocalEnv(ctx.env))
          throw new UsageError(
            `export reads local environments only; "${ctx.env}" is on AWS (not built yet)`,
            'on AWS the registry history is in the deployed stack and the data in the offline bucket: copy it with aws s3 sync (README: Backup and restore)',
          );
        let progress: Progress | undefined;
        const result = await exportEnvironment({
          dataDir: ctx.options.dataDir,
          env: ctx.env,
          out: options.out,
          includeData: options.includeData === true,
          fstoreVersion: command.parent?.version() ?? 'unknown',
          onProgress: (done, total) => {
            if (options.json) return;
            progress ??= createProgress('copying', total);
            progress.update(done);
          },
        });
        progress?.stop();
        if (options.json) {
          ctx.out.json(result);
          return;
        }
        ctx.out.line(
          `${ctx.out.c.green('✔')} exported env "${ctx.env}" to ${ctx.display(result.out)}: ${plural(result.files, 'file')}, ${describeBytes(result.bytes)}${result.includesData ? `, ${plural(result.dataFiles, 'data file')}` : ' (metadata only: add --include-data for the offline data)'}`,
        );
        ctx.out.line(
          `${ctx.out.c.dim('·')} restore it with: fstore import ${result.out} --env <new local env>`,
        );
      },
    );
}
