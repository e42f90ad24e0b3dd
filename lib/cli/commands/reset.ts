import { rm, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { envDataDir, isLocalEnv, onlineLockPath } from '../../local/data-paths.ts';
import { acquireProcessLock } from '../../local/process-lock.ts';
import { UsageError } from '../cli-error.ts';
import { CliContext } from '../context.ts';

export function registerReset(program: Command): void {
  program
    .command('reset')
    .description('Delete a local environment: applied registry, offline and online data, demo data')
    .option('--yes', 'do not ask for confirmation')
    .action(async (options: { yes?: boolean }, command: Command) => {
      const ctx = CliContext.fromCommand(command);
      if (!isLocalEnv(ctx.env))
        throw new UsageError(
          `reset deletes local environments only; "${ctx.env}" is on AWS`,
          'use --env local',
        );
      const dir = envDataDir(ctx.options.dataDir, ctx.env);
      if (!(await stat(dir).catch(() => undefined))) {
        ctx.out.line(`Nothing to reset: ${ctx.display(dir)} does not exist.`);
        return;
      }
      if (!options.yes) {
        if (!process.stdin.isTTY)
          throw new UsageError(
            `reset would delete ${ctx.display(dir)}`,
            'pass --yes to confirm when not at a terminal',
          );
        const prompt = createInterface({ input: process.stdin, output: process.stderr });
        const answer = await prompt.question(
          `Delete ${ctx.display(dir)} (registry, offline and online data)? [y/N] `,
        );
        prompt.close();
        if (!/^y(es)?$/i.test(answer.trim())) {
          ctx.out.line('Nothing deleted.');
          return;
        }
      }
      // Refuses while a running start/serve holds the online store.
      const lock = await acquireProcessLock(
        onlineLockPath(ctx.options.dataDir, ctx.env),
        `the local online store of env "${ctx.env}"`,
      );
      await rm(dir, { recursive: true, force: true });
      await lock.release();
      ctx.out.line(
        `${ctx.out.c.green('✔')} deleted ${ctx.display(dir)}; the next npm start begins from scratch.`,
      );
    });
}
