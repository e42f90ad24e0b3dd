import type { Command } from 'commander';
import { openLocalOnlineStore } from '../../local/local-online-store.ts';
import { materializeLocal } from '../../local/materialize-local.ts';
import { UsageError } from '../cli-error.ts';
import { CliContext } from '../context.ts';

export function registerMaterialize(program: Command): void {
  program
    .command('materialize')
    .description(
      'Write the newest offline row of each entity of the online views to the local online store (full backfill)',
    )
    .option('--view <names...>', 'only these views')
    .action(async (options: { view?: string[] }, command: Command) => {
      const ctx = CliContext.fromCommand(command);
      if (ctx.env !== 'local' && !ctx.env.startsWith('local-'))
        throw new UsageError(
          `materialize runs local environments for now; "${ctx.env}" is on AWS`,
          'use --env local',
        );
      const registry = await ctx.compile();
      const store = await openLocalOnlineStore(ctx.options.dataDir, ctx.env);
      try {
        const started = performance.now();
        const results = await materializeLocal({
          registry,
          dataDir: ctx.options.dataDir,
          env: ctx.env,
          client: store.client,
          table: store.table,
          ...(options.view ? { views: options.view } : {}),
        });
        ctx.out.table(
          ['view', 'rows read', 'written', 'skipped as older'],
          results.map((r) => [r.view, r.rows, r.written, r.skippedAsOlder]),
        );
        ctx.out.line(
          `${ctx.out.c.green('✔')} materialized ${results.length} view(s) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
        );
      } finally {
        await store.close();
      }
    });
}
