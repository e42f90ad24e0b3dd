import type { Command } from 'commander';
import { isLocalEnv } from '../../local/data-paths.ts';
import { openLocalOnlineStore } from '../../local/local-online-store.ts';
import { verifyOnline } from '../../quality/verify-online.ts';
import { UsageError } from '../cli-error.ts';
import { CliContext } from '../context.ts';
import { positiveIntegerOrZero } from './parse-options.ts';

export function registerVerifyOnline(program: Command): void {
  program
    .command('verify-online')
    .description(
      'Compare online items with the offline point-in-time values at their materialization time; exit 1 on any mismatch',
    )
    .requiredOption('--view <name>', 'the online feature view')
    .option('--sample <n>', 'items to check', positiveIntegerOrZero('sample'), 1000)
    .option('--json', 'print JSON')
    .action(async (options: { view: string; sample: number; json?: boolean }, command: Command) => {
      const ctx = CliContext.fromCommand(command);
      if (!isLocalEnv(ctx.env))
        throw new UsageError(
          `verify-online runs on the local engine; "${ctx.env}" is on AWS`,
          'use --env local (Athena support is not there yet)',
        );
      const registry = await ctx.compile();
      const store = await openLocalOnlineStore(ctx.options.dataDir, ctx.env, { attach: true });
      try {
        const result = await verifyOnline({
          client: store.client,
          table: store.table,
          registry,
          dataDir: ctx.options.dataDir,
          env: ctx.env,
          view: options.view,
          sample: options.sample,
        });
        if (options.json) ctx.out.json(result);
        else {
          ctx.out.line(
            `${result.view}: ${result.items} items, ${result.matching} of ${result.values} values match the offline store (${(100 * result.matchRate).toFixed(2)}%)`,
          );
          if (result.mismatches.length > 0)
            ctx.out.table(
              ['entity', 'feature', 'as of', 'online', 'offline'],
              result.mismatches
                .slice(0, 20)
                .map((m) => [
                  JSON.stringify(m.entity),
                  m.feature,
                  m.asOf,
                  JSON.stringify(m.online),
                  JSON.stringify(m.offline),
                ]),
            );
        }
        if (result.mismatches.length > 0) process.exitCode = 1;
      } finally {
        await store.close();
      }
    });
}
