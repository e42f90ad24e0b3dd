import type { Command } from 'commander';
import { isLocalEnv } from '../../data-paths.ts';
import { openLocalOnlineStore } from '../../local/local-online-store.ts';
import { onlineTableName } from '../../online/online-table.ts';
import {
  athenaOfflineValues,
  localOfflineValues,
  verifyOnline,
} from '../../quality/verify-online.ts';
import { dynamoDbClient } from '../aws-clients.ts';
import { awsRegion } from '../aws-region.ts';
import { CliContext } from '../context.ts';
import { withOfflineEngine } from './offline-engine.ts';
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
      await withOfflineEngine(ctx, async ({ registry, query, dialect }) => {
        const local = isLocalEnv(ctx.env);
        const store = local
          ? await openLocalOnlineStore(ctx.options.dataDir, ctx.env, { attach: true })
          : {
              client: await dynamoDbClient(awsRegion(ctx.env)),
              table: onlineTableName(ctx.env),
              close: async () => {},
            };
        try {
          const result = await verifyOnline({
            client: store.client,
            table: store.table,
            registry,
            view: options.view,
            sample: options.sample,
            offline: local
              ? localOfflineValues(registry, ctx.options.dataDir, ctx.env)
              : athenaOfflineValues(registry, query, dialect),
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
    });
}
