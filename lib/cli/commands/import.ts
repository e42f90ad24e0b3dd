import type { Command } from 'commander';
import { importEnvironment } from '../../backup/import-env.ts';
import { isLocalEnv } from '../../data-paths.ts';
import { CliContext } from '../context.ts';
import { plural } from '../plural.ts';

export function registerImport(program: Command): void {
  program
    .command('import')
    .description(
      'Restore a folder written by fstore export into a new, empty environment (--env), after checking every file’s sha256: a local export into a local environment, an AWS export into an AWS environment deployed with the same feature-defs (commit records written last); the online store starts empty (fstore materialize fills it)',
    )
    .argument('<dir>', 'the folder fstore export wrote')
    .option('--json', 'print the result as JSON')
    .action(async (dir: string, options: { json?: boolean }, command: Command) => {
      const ctx = CliContext.fromCommand(command);
      if (!isLocalEnv(ctx.env)) {
        const { importOnAws } = await import('./import-aws.ts');
        const result = await importOnAws(ctx, { from: dir, json: options.json === true });
        if (options.json) {
          ctx.out.json(result);
          return;
        }
        ctx.out.line(
          `${ctx.out.c.green('✔')} imported env "${result.exportedFrom}" (exported ${result.exportedAt}) into env "${result.env}": ${plural(result.uploaded, 'object')} written, ${result.alreadyThere} already there, ${plural(result.commitRecords, 'commit record')}; audit key ${result.auditKey}`,
        );
        for (const skipped of result.notRestored)
          ctx.out.line(
            `${ctx.out.c.dim('·')} not restored: ${skipped.name} (${plural(skipped.files, 'file')}): ${skipped.why}`,
          );
        if (result.namedButAbsent > 0)
          ctx.out.line(
            `${ctx.out.c.dim('·')} ${plural(result.namedButAbsent, 'object')} named by commit records were not in the exported bucket (deleted by retention before the export); no reader reads them`,
          );
        if (result.includesData)
          ctx.out.line(
            `${ctx.out.c.dim('·')} the online store of ${result.env} starts empty: its scheduled materialization fills it from the imported data`,
          );
        return;
      }
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
