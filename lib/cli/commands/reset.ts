import { rm, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import {
  envDataDir,
  isLocalEnv,
  onlineEndpointPath,
  onlineLockPath,
  onlineStoreDir,
} from '../../data-paths.ts';
import { removeWatermarkRecord, watermarkRecordPath } from '../../local/online-store-damage.ts';
import { acquireProcessLock } from '../../process-lock.ts';
import { UsageError } from '../cli-error.ts';
import { CliContext } from '../context.ts';

export function registerReset(program: Command): void {
  program
    .command('reset')
    .description('Delete a local environment: applied registry, offline and online data, demo data')
    .option('--yes', 'do not ask for confirmation')
    .option(
      '--online',
      'delete only the online store and its watermarks; fstore materialize rebuilds it from the offline store',
    )
    .action(async (options: { yes?: boolean; online?: boolean }, command: Command) => {
      const ctx = CliContext.fromCommand(command);
      if (!isLocalEnv(ctx.env))
        throw new UsageError(
          `reset deletes local environments only; "${ctx.env}" is on AWS`,
          'use --env local',
        );
      if (options.online) return resetOnline(ctx, options.yes === true);
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

/**
 * `reset --online`: deletes the online store folder and what describes it (the watermarks,
 * checkpoints and leases live in its table; the watermark record and endpoint file beside
 * it), keeping the registry and the offline store, so `fstore materialize` rebuilds the
 * online store with full history. Refuses while another process holds the store.
 */
async function resetOnline(ctx: CliContext, confirmed: boolean): Promise<void> {
  const { dataDir } = ctx.options;
  const dir = onlineStoreDir(dataDir, ctx.env);
  const record = watermarkRecordPath(dataDir, ctx.env);
  const exists = async (file: string) => (await stat(file).catch(() => undefined)) !== undefined;
  if (!(await exists(dir)) && !(await exists(record))) {
    ctx.out.line(`Nothing to reset: ${ctx.display(dir)} does not exist.`);
    return;
  }
  const question = `Delete the online store ${ctx.display(dir)} (the offline store is kept)?`;
  if (!confirmed && !(await confirm(question, `reset --online would delete ${ctx.display(dir)}`)))
    return ctx.out.line('Nothing deleted.');
  const lock = await acquireProcessLock(
    onlineLockPath(dataDir, ctx.env),
    `the local online store of env "${ctx.env}"`,
  );
  try {
    await rm(dir, { recursive: true, force: true });
    await removeWatermarkRecord(dataDir, ctx.env);
    await rm(onlineEndpointPath(dataDir, ctx.env), { force: true });
  } finally {
    await lock.release();
  }
  ctx.out.line(
    `${ctx.out.c.green('✔')} deleted the online store ${ctx.display(dir)} and its watermarks; the offline store is kept. Rebuild with: fstore materialize`,
  );
}

async function confirm(question: string, refusal: string): Promise<boolean> {
  if (!process.stdin.isTTY)
    throw new UsageError(refusal, 'pass --yes to confirm when not at a terminal');
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await prompt.question(`${question} [y/N] `);
  prompt.close();
  return /^y(es)?$/i.test(answer.trim());
}
