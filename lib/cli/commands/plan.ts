import type { Command } from 'commander';
import { readAppliedRegistry, readRegistryFile } from '../../local/registry-store.ts';
import type { Registry } from '../../registry/index.ts';
import { planRegistryChanges, type RegistryPlan } from '../../registry/plan.ts';
import { CliError } from '../cli-error.ts';
import { CliContext } from '../context.ts';
import { printPlan } from '../format-plan.ts';

export interface PlanOptions {
  allowBreaking?: boolean;
  against?: string;
  json?: boolean;
}

/** Compiles the definitions and compares them with the applied registry (or `--against`). */
export async function computePlan(
  ctx: CliContext,
  against?: string,
): Promise<{ registry: Registry; plan: RegistryPlan }> {
  const registry = await ctx.compile();
  let previous: Registry | undefined;
  if (against) {
    previous = await readRegistryFile(against);
    if (!previous)
      throw new CliError(`--against ${against} does not exist`, {
        hint: 'pass a registry JSON written by `fstore validate --out` or `fstore apply`',
      });
  } else {
    previous = await readAppliedRegistry(ctx.options.dataDir, ctx.env);
  }
  return { registry, plan: planRegistryChanges(previous, registry) };
}

export function refuseBreaking(
  plan: RegistryPlan,
  allowBreaking: boolean | undefined,
  action: string,
): void {
  if (plan.hasBreaking && !allowBreaking) {
    throw new CliError(
      `the plan has ${plan.counts.breaking} breaking change(s); nothing was ${action}`,
      {
        hint: 'read the changes marked breaking above; re-run with --allow-breaking to accept them',
      },
    );
  }
}

export function registerPlan(program: Command): void {
  program
    .command('plan')
    .description(
      'Show what changed since the registry was last applied, marking each change metadata-only, safe or breaking',
    )
    .option('--allow-breaking', 'exit 0 even when the plan has breaking changes')
    .option(
      '--against <file>',
      'compare with this registry JSON instead of the applied one (e.g. the deployed copy)',
    )
    .option('--json', 'print the plan as JSON')
    .addHelpText(
      'after',
      '\nExit codes: 0 no changes or only safe/metadata changes, 1 breaking changes (unless --allow-breaking) or failure, 2 usage error.',
    )
    .action(async (options: PlanOptions, command: Command) => {
      const ctx = CliContext.fromCommand(command);
      const { plan } = await computePlan(ctx, options.against);
      if (options.json) ctx.out.json(plan);
      else {
        if (!options.against && plan.fromVersion === undefined) {
          ctx.out.line(
            ctx.out.c.dim(`No registry applied yet for env "${ctx.env}"; everything is new.`),
          );
        }
        printPlan(ctx.out, plan, ctx.env);
      }
      refuseBreaking(plan, options.allowBreaking, 'applied');
    });
}
