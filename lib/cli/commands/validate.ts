import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { serializeRegistry } from '../../registry/index.ts';
import { CliContext } from '../context.ts';
import { plural } from '../plural.ts';

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description(
      'Load and check every definition in the definitions folder and compile the registry',
    )
    .option('--out <file>', 'also write the compiled registry JSON to this file')
    .option('--json', 'print the compiled registry as JSON instead of a summary')
    .action(async (options: { out?: string; json?: boolean }, command: Command) => {
      const ctx = CliContext.fromCommand(command);
      const registry = await ctx.compile();
      if (options.out) await writeFile(options.out, serializeRegistry(registry));
      if (options.json) {
        process.stdout.write(serializeRegistry(registry));
        return;
      }
      const online = registry.featureViews.filter((v) => v.online).length;
      ctx.out.line(
        `${ctx.out.c.green('✔')} ${ctx.display(ctx.options.defs)} is valid: ${plural(registry.entities.length, 'entity', 'entities')}, ${plural(registry.sources.length, 'source')}, ${plural(registry.featureViews.length, 'feature view')} (${online} online), ${plural(registry.featureServices.length, 'feature service')}. Registry version ${registry.version}.`,
      );
      if (options.out) ctx.out.line(`Wrote ${ctx.display(options.out)}.`);
    });
}
