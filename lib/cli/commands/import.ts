import type { Command } from 'commander';
import { importEnvironment } from '../../backup/import-env.ts';
import { isLocalEnv } from '../../data-paths.ts';
import { UsageError } from '../cli-error.ts';
import { CliContext } from '../context.ts';
import { plural } from '../plural.ts';

export function registerImport(program: Command): void {
  program
    .command('import')
    .description(
      'Restore a folder written by fstore export into a new, empty local environment (--env), after checking every file’s sha256; the online store starts empty (fstore materialize fills it)',
    )
    .argument('<dir>', 'the folder fstore export wrote')
    .option('--json', 'print the result as JSON')
    .action(async (dir: string, options: { json?: boolean }, command: Command) => {
      const ctx = CliContext.fromCommand(command);
      if (!isLocalEnv(ctx.env))
        throw new UsageError(
          `import restores into local environments only; "${ctx.env}" is on AWS (not built yet)`,
          'pass --env local-<name> for a new local environment',
        );
      const result = await importEnvironment({
        dataDir: ctx.options.dataDir,
        env: ctx.env,
        from: dir,
      });
      if (options.json) {
        ctx.out.json(result);
        return;
      }
      ctx.out.line(
        `${ctx.out.c.green('✔')} imported env "${result.exportedFrom}" (exported ${result.exportedAt}) into env "${result.env}": ${plural(result.restored, 'file')}`,
      );
      for (const skipped of result.notRestored)
        ctx.out.line(
          `${ctx.out.c.dim('·')} not restored: ${skipped.name} (${plural(skipped.files, 'file')}): ${skipped.why}`,
        );
      if (result.includesData)
        ctx.out.line(
          `${ctx.out.c.dim('·')} next: fstore materialize --env ${result.env} fills its online store`,
        );
    });
}
