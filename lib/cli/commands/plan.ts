import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { isLocalEnv } from '../../data-paths.ts';
import { readAppliedRegistry, readRegistryFile } from '../../local/registry-store.ts';
import { type Registry, serializeRegistry } from '../../registry/index.ts';
import { planRegistryChanges, type RegistryPlan } from '../../registry/plan.ts';
import { s3Client } from '../aws-clients.ts';
import { awsRegion } from '../aws-region.ts';
import { CliError, UsageError } from '../cli-error.ts';
import { CliContext } from '../context.ts';
import { printPlan } from '../format-plan.ts';

export interface PlanOptions {
  allowBreaking?: boolean;
  against?: string;
  bucket?: string;
  saveDeployed?: string;
  json?: boolean;
}

/** The registry a plan compares with, and a note for a human when there is none. */
interface Baseline {
  readonly registry: Registry | undefined;
  readonly missingNote?: string;
}

/** Compiles the definitions and compares them with the applied registry (or `--against`). */
export async function computePlan(
  ctx: CliContext,
  against?: string,
): Promise<{ registry: Registry; plan: RegistryPlan }> {
  const registry = await ctx.compile();
  const baseline = await localOrFileBaseline(ctx, against);
  return { registry, plan: planRegistryChanges(baseline.registry, registry) };
}

async function localOrFileBaseline(ctx: CliContext, against?: string): Promise<Baseline> {
  if (against) {
    const registry = await readRegistryFile(against);
    if (!registry)
      throw new CliError(`--against ${against} does not exist`, {
        hint: 'pass a registry JSON written by `fstore validate --out`, `fstore apply` or `fstore plan --save-deployed`',
      });
    return { registry };
  }
  return {
    registry: await readAppliedRegistry(ctx.options.dataDir, ctx.env),
    missingNote: `No registry applied yet for env "${ctx.env}"; everything is new.`,
  };
}

/** The registry the last deploy of an AWS environment recorded in its artifacts bucket. */
async function deployedBaseline(ctx: CliContext, bucket: string | undefined): Promise<Baseline> {
  if (!bucket)
    throw new UsageError(
      `plan for AWS environment "${ctx.env}" reads the deployed registry from its artifacts bucket`,
      `pass --bucket <name> (the ArtifactsBucketName output of stack fstore-${ctx.env}) or set FSTORE_ARTIFACTS_BUCKET; or compare offline with --against <file>`,
    );
  const s3 = await s3Client(awsRegion(ctx.env));
  const { readDeployedRegistry } = await import('../../registry/deployed-registry.ts');
  const deployed = await readDeployedRegistry(s3, bucket);
  if (deployed.status === 'none')
    return {
      registry: undefined,
      missingNote: `No registry recorded at ${deployed.location}: nothing deployed to "${ctx.env}" yet; everything is new.`,
    };
  return { registry: deployed.registry };
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
      'Show what changed since the registry was last applied (local) or deployed (AWS), marking each change metadata-only, safe or breaking',
    )
    .option('--allow-breaking', 'exit 0 even when the plan has breaking changes')
    .option(
      '--against <file>',
      'compare with this registry JSON instead of the applied or deployed one (offline)',
    )
    .option(
      '--bucket <name>',
      'AWS environments: the artifacts bucket holding the deployed registry (ArtifactsBucketName output; default $FSTORE_ARTIFACTS_BUCKET)',
    )
    .option(
      '--save-deployed <file>',
      'AWS environments: also write the deployed registry to <file>, for `cdk deploy -c deployedRegistry=<file>`',
    )
    .option('--json', 'print the plan as JSON')
    .addHelpText(
      'after',
      '\nExit codes: 0 no changes or only safe/metadata changes, 1 breaking changes (unless --allow-breaking) or failure, 2 usage error.',
    )
    .action(async (options: PlanOptions, command: Command) => {
      const ctx = CliContext.fromCommand(command);
      if (options.saveDeployed && (options.against || isLocalEnv(ctx.env)))
        throw new UsageError(
          '--save-deployed reads the deployed registry of an AWS environment',
          'drop --against, and pass an AWS environment such as --env dev',
        );
      const registry = await ctx.compile();
      const baseline =
        options.against || isLocalEnv(ctx.env)
          ? await localOrFileBaseline(ctx, options.against)
          : await deployedBaseline(ctx, options.bucket ?? process.env.FSTORE_ARTIFACTS_BUCKET);
      if (options.saveDeployed) await saveDeployed(ctx, baseline, options.saveDeployed);
      const plan = planRegistryChanges(baseline.registry, registry);
      if (options.json) ctx.out.json(plan);
      else {
        if (!baseline.registry && baseline.missingNote)
          ctx.out.line(ctx.out.c.dim(baseline.missingNote));
        printPlan(ctx.out, plan, ctx.env);
      }
      refuseBreaking(plan, options.allowBreaking, 'applied');
    });
}

async function saveDeployed(ctx: CliContext, baseline: Baseline, file: string): Promise<void> {
  if (!baseline.registry) {
    ctx.out.status(
      `warning: nothing deployed to "${ctx.env}" yet, so ${file} was not written; synthesis will warn that no deployed registry was checked`,
    );
    return;
  }
  await writeFile(file, serializeRegistry(baseline.registry));
  ctx.out.status(`wrote the deployed registry ${baseline.registry.version} to ${file}`);
}
