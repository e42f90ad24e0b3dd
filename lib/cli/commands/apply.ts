import type { Command } from 'commander';
import { isLocalEnv } from '../../data-paths.ts';
import { writeAppliedRegistry } from '../../local/registry-store.ts';
import { UsageError } from '../cli-error.ts';
import { CliContext } from '../context.ts';
import { printPlan } from '../format-plan.ts';
import { computePlan, refuseBreaking } from './plan.ts';

/** Applies the compiled registry to a local environment; returns whether anything changed. */
export async function applyLocal(
  ctx: CliContext,
  allowBreaking: boolean | undefined,
  quietWhenUnchanged = false,
  json = false,
): Promise<boolean> {
  if (!isLocalEnv(ctx.env)) {
    throw new UsageError(
      `apply records the registry of local environments only; "${ctx.env}" is an AWS environment`,
      `deploy it with \`npx cdk deploy -c env=${ctx.env}\`, which ships the compiled registry with the stack`,
    );
  }
  const { registry, plan } = await computePlan(ctx);
  if (plan.changes.length === 0) {
    if (json) ctx.out.json({ env: ctx.env, version: registry.version, applied: false, plan });
    else if (!quietWhenUnchanged)
      ctx.out.line(`Nothing to apply: env "${ctx.env}" already has registry ${registry.version}.`);
    return false;
  }
  if (!json) printPlan(ctx.out, plan, ctx.env);
  refuseBreaking(plan, allowBreaking, 'applied');
  const file = await writeAppliedRegistry(ctx.options.dataDir, ctx.env, registry);
  if (json) {
    ctx.out.json({ env: ctx.env, version: registry.version, applied: true, file, plan });
    return true;
  }
  ctx.out.line(
    `${ctx.out.c.green('✔')} Applied registry ${registry.version} to env "${ctx.env}" (${ctx.display(file)}).`,
  );
  return true;
}

export function registerApply(program: Command): void {
  program
    .command('apply')
    .description(
      'Record the compiled registry as applied for a local environment (AWS environments are applied by cdk deploy)',
    )
    .option('--allow-breaking', 'apply even when the plan has breaking changes')
    .option('--json', 'print { env, version, applied, file, plan } as JSON instead of the plan')
    .action(async (options: { allowBreaking?: boolean; json?: boolean }, command: Command) => {
      await applyLocal(
        CliContext.fromCommand(command),
        options.allowBreaking,
        false,
        options.json === true,
      );
    });
}
